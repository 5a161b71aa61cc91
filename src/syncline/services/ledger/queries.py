"""Read the embedded ledger back as the pure kernel's values.

Stored entries come back as ``JournalEntry`` values (lines with their functional amounts,
FX rate/source/date and dimensions, entries with their metadata), so every report and
export in ``syncline.ledger`` runs on the real books. Charts are per legal entity: the
system's configured chart of each entity, else the template labelled for it, for each
entity of the reference data and any entity that has entries.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy import inspect as sa_inspect

from syncline.adapters.db.ledger_tables import journal_entry_metadata, journal_line_details
from syncline.adapters.db.tables import (
    contracts,
    invoices,
    journal_entries,
    journal_lines,
    metadata,
    projects,
)
from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.ledger.accounts import DEFAULT_CHART, ChartOfAccounts, Charts, as_charts
from syncline.ledger.journal import JournalEntry, JournalLine, Side
from syncline.ledger.money import Money
from syncline.ledger.periods import is_period_name, period_end, period_start
from syncline.services.ledger.held import facts_held, held, holding


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """Which stored entries to load. ``period``: dated in that month; ``through``: dated on
    or before the end of that month (balances as at its close); both may be None (all)."""

    period: str | None = None
    through: str | None = None
    entity: str | None = None
    source_type: str | None = None
    touching: tuple[str, ...] | None = None  # only entries with a line on one of these
    after: str | None = None  # dated after the end of this month
    entities: tuple[str, ...] | None = None  # only these entities
    exclude: tuple[str, ...] = ()  # not these entities

    def __post_init__(self) -> None:
        for name in (self.period, self.through, self.after):
            if name is not None and not is_period_name(name):
                raise ValueError(f"not a period {name!r}: expected YYYY-MM")


def load_entries(
    conn: Connection,
    *,
    period: str | None = None,
    through: str | None = None,
    entity: str | None = None,
    source_type: str | None = None,
    touching: Iterable[str] | None = None,
    after: str | None = None,
    entities: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> list[JournalEntry]:
    """Stored entries as ``JournalEntry`` values, ordered by posting date then posting order.
    ``touching``: only the entries with at least one line on one of these accounts (each
    whole, every line); ``after``: only those dated after that month; ``entities`` /
    ``exclude``: only / not those entities'."""
    f = EntryFilter(period, through, entity, source_type,
                    tuple(sorted(touching)) if touching is not None else None, after,
                    tuple(sorted(entities)) if entities is not None else None,
                    tuple(sorted(exclude)))
    if holding(conn) and through and not period and not source_type and touching is None \
            and after is None and entities is None and not exclude:
        books = held(conn, ("books through", through),
                     lambda: _load(conn, EntryFilter(through=through)))
        return [e for e in books if not entity or e.entity_id == entity]
    return _load(conn, f)


@contextmanager
def entries_held(conn: Connection) -> Iterator[None]:
    """While inside, ``load_entries(conn, through=…)`` reads the whole books through that
    period once and answers every entity from them (the same entries in the same order as
    its own query), and the firm-wide facts of the period are held too (services/ledger/
    held.py, whose mechanism both use). For callers that build several reports or scopes
    and post nothing meanwhile: the close records its reports in one transaction that
    writes no journal."""
    with facts_held(conn):
        yield


def _load(conn: Connection, f: EntryFilter) -> list[JournalEntry]:
    q = select(journal_entries).order_by(journal_entries.c.posting_date,
                                         journal_entries.c.posted_at, journal_entries.c.id)
    if f.period:
        q = q.where((journal_entries.c.posting_date >= period_start(f.period).isoformat())
                    & (journal_entries.c.posting_date <= period_end(f.period).isoformat()))
    if f.through:
        q = q.where(journal_entries.c.posting_date <= period_end(f.through).isoformat())
    if f.after:
        q = q.where(journal_entries.c.posting_date > period_end(f.after).isoformat())
    if f.entity:
        q = q.where(journal_entries.c.entity_code == f.entity)
    if f.entities is not None:
        q = q.where(journal_entries.c.entity_code.in_(f.entities))
    if f.exclude:
        q = q.where(journal_entries.c.entity_code.not_in(f.exclude))
    if f.source_type:
        q = q.where(journal_entries.c.source_type == f.source_type)
    if f.touching is not None:
        q = q.where(journal_entries.c.id.in_(select(journal_lines.c.entry_id).where(
            journal_lines.c.account.in_(f.touching))))
    return entries_of(conn, conn.execute(q).all())


def entries_of(conn: Connection, heads: Sequence[Any]) -> list[JournalEntry]:
    """The stored entries of ``heads`` (rows of ``journal_entries``), in their order, each with
    its lines (by line number), their details and its metadata."""
    if not heads:
        return []
    ids = [h.id for h in heads]
    lines: dict[str, list[Any]] = defaultdict(list)
    details: dict[tuple[str, int], Any] = {}
    meta: dict[str, str] = {}
    for chunk in _chunks(ids, 500):
        for ln in conn.execute(select(journal_lines).where(journal_lines.c.entry_id.in_(chunk))
                               .order_by(journal_lines.c.entry_id, journal_lines.c.line_no)):
            lines[ln.entry_id].append(ln)
        for d in conn.execute(select(journal_line_details).where(
                journal_line_details.c.entry_id.in_(chunk))):
            details[(d.entry_id, d.line_no)] = d
        for m in conn.execute(select(journal_entry_metadata).where(
                journal_entry_metadata.c.entry_id.in_(chunk))):
            meta[m.entry_id] = m.metadata
    out = []
    for h in heads:
        out.append(JournalEntry(
            entity_id=h.entity_code, posting_date=date.fromisoformat(h.posting_date),
            description=h.description,
            lines=tuple(_line(ln, details.get((h.id, ln.line_no))) for ln in lines[h.id]),
            source_type=h.source_type, source_id=h.source_id, reverses=h.reverses,
            metadata=_pairs(meta.get(h.id))))
    return out


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _pairs(text: str | None) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    return tuple((str(k), str(v)) for k, v in json.loads(text))


def _line(row: Any, detail: Any | None) -> JournalLine:
    functional = None
    fx_rate = fx_source = fx_date = None
    dims: tuple[tuple[str, str], ...] = ()
    if detail is not None:
        if detail.functional_amount is not None and detail.functional_currency:
            functional = Money(detail.functional_amount, detail.functional_currency)
        fx_rate = detail.fx_rate
        fx_source = detail.fx_source
        fx_date = date.fromisoformat(detail.fx_date) if detail.fx_date else None
        dims = _pairs(detail.dimensions)
    return JournalLine(account=row.account, side=Side(row.side),
                       amount=Money(row.amount, row.currency), functional=functional,
                       fx_rate=fx_rate, fx_source=fx_source, memo=row.memo, dimensions=dims,
                       fx_date=fx_date)


DOCUMENT_DIMENSIONS = ("customer", "contract", "project", "service_line")


def with_document_dimensions(conn: Connection,
                             entries: Iterable[JournalEntry]) -> list[JournalEntry]:
    """Entries whose lines lack the ``customer``, ``contract``, ``project`` and
    ``service_line`` dimensions get them from their source document (an invoice, or a credit
    note of one), e.g. so that an A/R line names its customer as QuickBooks requires. The
    customer is the Syncline customer id. Amounts and accounts never change."""
    entries = list(entries)
    docs = {e.source_id for e in entries if e.source_type in ("invoice", "credit_note")}
    if not docs:
        return entries
    project_of: dict[str, str] = {}
    for p in conn.execute(select(projects.c.code, contracts.c.number)
                          .join(contracts, contracts.c.id == projects.c.contract_id)
                          .order_by(projects.c.code)):
        project_of.setdefault(p.number, p.code)
    contract_dims: dict[str, tuple[tuple[str, str], ...]] = {}
    for c in conn.execute(select(contracts.c.number, contracts.c.customer_id,
                                 contracts.c.service_line)):
        dims = [("customer", c.customer_id), ("contract", c.number)]
        if c.number in project_of:
            dims.append(("project", project_of[c.number]))
        dims.append(("service_line", c.service_line))
        contract_dims[c.number] = tuple(dims)
    contract_of_doc = {r.number: r.contract_number for r in conn.execute(
        select(invoices.c.number, invoices.c.contract_number))}
    notes = metadata.tables.get("credit_notes")
    if notes is not None and sa_inspect(conn).has_table(notes.name):
        for r in conn.execute(select(notes.c.number, notes.c.contract_number)):
            contract_of_doc[r.number] = r.contract_number
    out = []
    for e in entries:
        found = contract_dims.get(contract_of_doc.get(e.source_id, "")) \
            if e.source_type in ("invoice", "credit_note") else None
        if not found:
            out.append(e)
            continue
        lines = []
        for ln in e.lines:
            have = {k for k, _ in ln.dimensions}
            extra = tuple((k, v) for k, v in found if k not in have)
            lines.append(replace(ln, dimensions=ln.dimensions + extra) if extra else ln)
        out.append(replace(e, lines=tuple(lines)))
    return out


def line_detail_row(entry_id: str, line_no: int, ln: JournalLine) -> dict[str, Any] | None:
    """The ``journal_line_details`` row of a line, or None when it has nothing to add."""
    if (ln.functional is None and ln.fx_rate is None and not ln.fx_source
            and ln.fx_date is None and not ln.dimensions):
        return None
    return {"entry_id": entry_id, "line_no": line_no,
            "functional_amount": ln.functional.amount if ln.functional else None,
            "functional_currency": ln.functional.currency if ln.functional else None,
            "fx_rate": ln.fx_rate, "fx_source": ln.fx_source,
            "fx_date": ln.fx_date.isoformat() if ln.fx_date else None,
            "dimensions": json.dumps([list(d) for d in ln.dimensions]) if ln.dimensions
            else None}


def entities_with_entries(conn: Connection) -> list[str]:
    """The entities with entries, each found from the one before by a step of the
    (entity, posting date) index (migration 0028): a few steps, not a read of every entry."""
    code = journal_entries.c.entity_code
    out: list[str] = []
    while (found := conn.execute(select(func.min(code)).where(
            code > out[-1]) if out else select(func.min(code))).scalar()) is not None:
        out.append(found)
    return sorted(out)  # in Python's order (a database's collation may differ)


def entity_codes(conn: Connection | None = None,
                 ref: ReferenceData = DEFAULT_REFERENCE) -> list[str]:
    """The reference data's legal entities, plus any entity that has entries."""
    codes = {e.code for e in ref.entities}
    if conn is not None:
        codes.update(entities_with_entries(conn))
    return sorted(codes)


def charts_for(
    conn: Connection | None = None,
    ref: ReferenceData = DEFAULT_REFERENCE,
    chart: Charts | ChartOfAccounts = DEFAULT_CHART,
) -> dict[str, ChartOfAccounts]:
    """Chart of accounts per legal entity of the reference data and of the books: the
    system's charts by entity (``Charts``), or one template labelled for each entity."""
    return as_charts(chart).all(entity_codes(conn, ref))


def functional_currencies(ref: ReferenceData = DEFAULT_REFERENCE) -> dict[str, str]:
    return {e.code: e.functional_currency for e in ref.entities}
