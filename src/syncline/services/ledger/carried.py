"""Carried balances in the database (docs/adr/0014-carried-balances.md): the close keeps each
locked month's books summed per key (``syncline.ledger.carried``), and the checks and reports
of a later period read the carry of the last month before it plus only the entries after.

- ``keep_carries`` (the close, in its transaction): carries every locked month of each entity
  that has none yet, in order — a month whose every month from the entity's first entry on is
  locked — each from the carry of the month before it (or the books from the start) plus the
  month's entries. This is also the backfill of a database that had locked months before
  migration 0022.
- ``load_books(conn, period, charts, entity=…)``: the ``Books`` through ``period``: each
  entity's latest carry before ``period`` keyed by its current receivable account, and the
  entries after it. Without a carry, the whole books (what every reader got before).

A carry is final while it exists: nothing posts into a locked month, and triggers (migration
0022) delete an entity's carries from the month of any journal row written, changed or
deleted on or before them — also a posting into a month before the entity's first, which no
lock covers — whichever code writes; the next close carries those months again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import Connection, delete, func, select
from sqlalchemy import inspect as sa_inspect

from syncline.adapters.db.billing_tables import payments
from syncline.adapters.db.close_tables import ledger_carried_balances, ledger_carries
from syncline.adapters.db.ledger_tables import ledger_periods
from syncline.adapters.db.tables import invoices, journal_entries, metadata
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.carried import (
    Attribution,
    Books,
    Carried,
    CarryKey,
    carry_forward,
    entry_contract,
)
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import next_period
from syncline.services.ledger import kept
from syncline.services.ledger.held import held, holding
from syncline.services.ledger.queries import entities_with_entries, load_entries


def receivables(charts: Mapping[str, ChartOfAccounts]) -> dict[str, str]:
    """The receivable account of each entity whose chart maps the role (the AR check's)."""
    return {ent: chart.code("accounts_receivable") for ent, chart in charts.items()
            if any(a.role == "accounts_receivable" for a in chart.accounts)}


def attribution(conn: Connection, charts: Mapping[str, ChartOfAccounts]) -> Attribution:
    """Who each entry belongs to, as the checks decide it: the contract of an invoice, a
    credit note or a revenue true-up (``reports.common.contract_of_entries``); the invoice an
    invoice, credit note or payment entry settles (``reconciliation.billing.ar_vs_gl``)."""
    of_doc = {r.number: r.contract_number for r in conn.execute(
        select(invoices.c.number, invoices.c.contract_number))}
    note_of: dict[str, str] = {}
    notes = metadata.tables.get("credit_notes")
    if notes is not None and sa_inspect(conn).has_table(notes.name):
        for n in conn.execute(select(notes.c.number, notes.c.contract_number,
                                     notes.c.invoice_number)):
            of_doc[n.number] = n.contract_number
            note_of[n.number] = n.invoice_number
    for p in conn.execute(select(payments.c.payment_id, payments.c.invoice_number)):
        note_of[p.payment_id] = p.invoice_number

    def contract_of(e: JournalEntry) -> str | None:
        return entry_contract(e, of_doc)

    def document_of(e: JournalEntry) -> str | None:
        if e.source_type == "invoice":
            return e.source_id
        if e.source_type in ("credit_note", "payment") and e.source_id in note_of:
            return note_of[e.source_id]
        return None

    return Attribution(contract_of, document_of, receivables(charts))


def _months(first: str, last: str) -> list[str]:
    out = [first]
    while out[-1] < last:
        out.append(next_period(out[-1]))
    return out


def carriable(conn: Connection, entity: str) -> list[str]:
    """The entity's locked months whose every month from its first entry (or first stored
    period) on is locked, in order."""
    locked = {r.period for r in conn.execute(select(ledger_periods.c.period).where(
        (ledger_periods.c.entity_code == entity) & (ledger_periods.c.status == "locked")))}
    if not locked:
        return []
    first_day = conn.execute(select(func.min(journal_entries.c.posting_date)).where(
        journal_entries.c.entity_code == entity)).scalar()
    first = min(locked) if first_day is None else min(min(locked), first_day[:7])
    out = []
    for month in _months(first, max(locked)):
        if month not in locked:
            break
        out.append(month)
    return out


def keep_carries(conn: Connection, charts: Mapping[str, ChartOfAccounts]) -> int:
    """Carry every carriable month that has no carry yet (see the module doc); the number
    carried. Reads the entries of the months carried, and the carry before them."""
    done = 0
    found: Attribution | None = None  # read when a month is to be carried
    account_of = receivables(charts)
    for entity in sorted(set(charts)):
        months = carriable(conn, entity)
        if not months:
            continue
        account = account_of.get(entity, "")
        have = {r.period: r for r in conn.execute(
            select(ledger_carries.c.period, ledger_carries.c.receivable_account,
                   ledger_carries.c.entries, ledger_carries.c.token).where(
                ledger_carries.c.entity_code == entity))}
        base: tuple[str, int, str | None] | None = None  # month, entries, token
        for month in months:
            was = have.get(month)
            if was is not None and was.receivable_account == account:
                base = (month, int(was.entries), was.token)
                continue
            if was is not None:  # keyed by another chart's receivable account
                _drop(conn, entity, month)
            rows = _rows(conn, entity, base[0], base[2]) if base else ()
            entries = load_entries(conn, entity=entity, through=month,
                                   after=base[0] if base else None)
            found = found or attribution(conn, charts)
            carried = carry_forward(rows, entries, found)
            count = (base[1] if base else 0) + len(entries)
            base = (month, count, _store(conn, entity, month, account, count, carried))
            done += 1
    return done


def _drop(conn: Connection, entity: str, month: str) -> None:
    for table in (ledger_carried_balances, ledger_carries):
        conn.execute(delete(table).where((table.c.entity_code == entity)
                                         & (table.c.period == month)))


def _store(conn: Connection, entity: str, month: str, account: str, count: int,
           carried: tuple[Carried, ...]) -> str:
    """Store the carry with a new token, kept by this process too (``kept``)."""
    token = kept.new_token()
    conn.execute(ledger_carries.insert().values(entity_code=entity, period=month,
                                                receivable_account=account, entries=count,
                                                token=token))
    rows = [{"entity_code": entity, "period": month, "row_no": i,
             "source_type": c.key.source_type, "account": c.key.account,
             "currency": c.key.currency, "functional_currency": c.key.functional_currency,
             "revalues": c.key.revalues, "counterparty": c.key.counterparty,
             "charge": c.key.charge, "contract": c.key.contract, "document": c.key.document,
             "entry": c.key.entry, "amount": c.amount, "functional": c.functional,
             "first_currency": c.first_currency, "note": c.note}
            for i, c in enumerate(carried, 1)]
    if rows:
        conn.execute(ledger_carried_balances.insert(), rows)
    kept.keep(conn, "carry", (entity, month), token, carried)
    return token


def _rows(conn: Connection, entity: str, month: str, token: str | None) -> tuple[Carried, ...]:
    """The carry's rows: kept by this process under its token (``kept``), else read."""
    got: tuple[Carried, ...] | None = kept.kept(conn, "carry", (entity, month), token)
    if got is not None:
        return got
    b = ledger_carried_balances.c
    found = tuple(
        Carried(CarryKey(entity, r.source_type, r.account, r.currency, r.functional_currency,
                         r.revalues, r.counterparty, r.charge, r.contract, r.document,
                         r.entry), Decimal(r.amount), Decimal(r.functional),
                r.first_currency, r.note)
        for r in conn.execute(select(ledger_carried_balances).where(
            (b.entity_code == entity) & (b.period == month)).order_by(b.row_no)))
    kept.keep(conn, "carry", (entity, month), token, found)
    return found


def _carry_points(conn: Connection, period: str, account: Mapping[str, str],
                  entity: str | None) -> dict[str, tuple[str, str | None]]:
    """Each entity's latest carry before ``period`` keyed by its current receivable account:
    its month and token."""
    c = ledger_carries.c
    q = select(c.entity_code, c.period, c.receivable_account, c.token).where(c.period < period)
    if entity:
        q = q.where(c.entity_code == entity)
    out: dict[str, tuple[str, str | None]] = {}
    for r in conn.execute(q.order_by(c.entity_code, c.period)):
        if r.receivable_account == account.get(r.entity_code, ""):
            out[r.entity_code] = (r.period, r.token)
    return out


def load_books(conn: Connection, period: str, charts: Mapping[str, ChartOfAccounts], *,
               entity: str | None = None) -> Books:
    """The books through the end of ``period`` (``entity``'s, or every entity's): see the
    module doc. Inside ``queries.entries_held`` every entity's are read once and filtered."""
    if entity is not None and holding(conn):
        return load_books(conn, period, charts).of(entity)
    return held(conn, ("books", period, tuple(sorted(receivables(charts).items())), entity),
                lambda: _load_books(conn, period, charts, entity))


def _load_books(conn: Connection, period: str, charts: Mapping[str, ChartOfAccounts],
                entity: str | None) -> Books:
    found = _carry_points(conn, period, receivables(charts), entity)
    points = {ent: month for ent, (month, _) in found.items()}
    carried: list[Carried] = []
    for ent, (month, token) in sorted(found.items()):
        carried.extend(_rows(conn, ent, month, token))
    groups: dict[str, list[str]] = defaultdict(list)
    for ent, month in points.items():
        groups[month].append(ent)
    entries: list[JournalEntry] = []
    if entity is not None:
        entries = load_entries(conn, entity=entity, through=period, after=points.get(entity))
    else:  # the entities carried through the same month read together; the others, whole
        for month, ents in sorted(groups.items()):
            entries.extend(load_entries(conn, through=period, after=month,
                                        entities=tuple(sorted(ents))))
        whole = tuple(e for e in entities_with_entries(conn) if e not in points)
        if whole:  # by the (entity, date) index; "not the carried ones" read every entry
            entries.extend(load_entries(conn, through=period, entities=whole))
    return Books(tuple(carried), tuple(entries), points)

