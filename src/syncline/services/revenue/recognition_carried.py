"""Recognition carried (docs/adr/0022): what a run needs of a contract's billing and journal
through a locked month, summed, so that the run reads only the documents and entries after it.

A recognition run needs, per contract, three things that are sums over its whole life:

- **net billed** through the period end (`billable.net_billed`: invoices plus credit notes,
  net of tax, each on its date) — for the true-up's liability and unbilled split;
- **what the revenue entries posted** (`journal_reads.posted_amounts`: the lines of the
  entries whose source id is ``revenue:<contract>:…``, per account) — the true-up is the
  target less this — and their functional amounts (a foreign contract's carrying balances);
- **its invoices' and credit notes' lines** on the balance accounts, transaction and
  functional (`journal_reads.carrying_balances`: a foreign contract's carrying balances).

Each is a sum of rows dated up to the period end, so it equals the sum through a month plus
the rows dated after it. ``revenue_recognition_carries`` holds the first (``billed``) and
``revenue_carried_lines`` the other two (kinds ``revenue`` and ``billed``) per source type and
account, debit positive, through the month ``period`` of the contract's carry — one carry per
contract, the latest. The source ids already taken (a catch-up's ``:r<n>``) are not carried:
an id of period P is posted at P's end (or later, never earlier), after any carried month.

**When.** The run for period P, in its transaction, carries each contract through the last
month before P locked for its entity (when that is after its carry), from what the run read
anyway: the carry before plus the documents and lines after it dated up to that month's end.
A database migrated to 0029 is carried by its next run (it reads everything once): that is
the backfill.

**Final while it exists.** Nothing posts into, invoices in or credits in a locked month. What
writes there regardless (SQL by hand, a restore) fires the triggers of migration 0029: any
invoice or credit note inserted, deleted or with its number, contract, date or subtotal
changed, and any journal entry, line or line detail written, changed or deleted, dated on or
before a carried month deletes every contract's carry from that month on, in the writer's
transaction. The next run reads those contracts whole, and the change lands in the open
period's true-up exactly as it did before carries (the stored schedule keeps earlier periods
as reported).

Only the recognition run reads carries (``services/revenue/sync``); a run for an earlier
period than a contract's carry reads the contract whole and leaves the later carry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, delete, literal, select, union_all

from syncline.adapters.db.billing_tables import credit_notes
from syncline.adapters.db.ledger_tables import journal_line_details
from syncline.adapters.db.revenue_tables import revenue_carried_lines, revenue_recognition_carries
from syncline.adapters.db.tables import invoices, journal_entries, journal_lines
from syncline.ledger.journal import Side
from syncline.services.revenue.billable import month_end, net_billed, numbers_in

REVENUE, BILLED = "revenue", "billed"  # the kinds of carried lines
CHUNK = 500


@dataclass(frozen=True, slots=True)
class CarriedLine:
    """A carried sum in the shape of a journal line read (`journal_reads`): one debit line
    on the carry's last day whose amount is the sum, debit positive, and whose functional
    amount is the sum of the lines' functional amounts (their own amounts where none)."""

    source_type: str
    account: str
    posting_date: str
    amount: Decimal
    functional_amount: Decimal
    source_id: str = ""
    side: str = Side.DEBIT.value


@dataclass(frozen=True, slots=True)
class Carry:
    """A contract's carry through the month ``period``."""

    period: str
    billed: Decimal
    revenue: tuple[CarriedLine, ...] = ()
    billed_lines: tuple[CarriedLine, ...] = ()

    @property
    def end(self) -> str:
        """The carried month's last day (ISO): rows dated after it are read."""
        return month_end(date.fromisoformat(f"{self.period}-01")).isoformat()


_rc, _cl = revenue_recognition_carries.c, revenue_carried_lines.c
_CARRIES = select(revenue_recognition_carries).where(numbers_in(_rc.contract_number))
_LINES = select(revenue_carried_lines).where(numbers_in(_cl.contract_number))


def read_carries(conn: Connection, numbers: Sequence[str]) -> dict[str, Carry]:
    """The stored carries of the contracts ``numbers`` (of any month), by contract."""
    heads: dict[str, Any] = {}
    lines: dict[str, dict[str, list[CarriedLine]]] = defaultdict(lambda: defaultdict(list))
    ordered = sorted(set(numbers))
    for start in range(0, len(ordered), CHUNK):
        params = {"numbers": ordered[start:start + CHUNK]}
        heads.update((r.contract_number, r) for r in conn.execute(_CARRIES, params))
        for r in conn.execute(_LINES, params):
            lines[r.contract_number][r.kind].append(r)
    out = {}
    for n, h in heads.items():
        end = month_end(date.fromisoformat(f"{h.period}-01")).isoformat()
        kinds = {kind: tuple(CarriedLine(r.source_type, r.account, end, r.amount,
                                         r.functional_amount)
                             for r in sorted(rows, key=lambda r: (r.source_type, r.account)))
                 for kind, rows in lines.get(n, {}).items()}
        out[n] = Carry(h.period, h.billed, kinds.get(REVENUE, ()), kinds.get(BILLED, ()))
    return out


_je, _jl, _jd = journal_entries.c, journal_lines.c, journal_line_details.c


def _document_lines(documents: Any, kind: str) -> Any:
    """The lines of the entries of the documents (``invoices`` or ``credit_notes``) of the
    contracts bound as ``numbers``, dated after ``after``, each with its contract."""
    return (select(documents.c.contract_number, _je.source_type, _je.source_id,
                   _je.posting_date, _jl.account, _jl.side, _jl.amount, _jd.functional_amount)
            .select_from(journal_lines.join(journal_entries).outerjoin(
                journal_line_details, (_jd.entry_id == _jl.entry_id)
                & (_jd.line_no == _jl.line_no)).join(
                documents, (_je.source_type == literal(kind))
                & (documents.c.number == _je.source_id)))
            .where(numbers_in(documents.c.contract_number)
                   & _je.entity_code.in_(bindparam("entities", expanding=True))
                   & (_je.posting_date > bindparam("after"))))


_BILLED_AFTER = union_all(_document_lines(invoices, "invoice"),
                          _document_lines(credit_notes, "credit_note"))


def billed_lines_after(conn: Connection, numbers: Sequence[str], carried: Mapping[str, Carry],
                       entities: Sequence[str]) -> dict[str, list[Any]]:
    """Every journal line of the invoices and credit notes of the contracts ``numbers``, by
    contract: for a contract with a carry, its carried sums and the lines dated after it."""
    out: dict[str, list[Any]] = defaultdict(list)
    groups: dict[str, list[str]] = defaultdict(list)
    for n in numbers:
        c = carried.get(n)
        groups[c.end if c else ""].append(n)
        if c:
            out[n].extend(c.billed_lines)
    for after, group in sorted(groups.items()):
        for start in range(0, len(group), CHUNK):
            for r in conn.execute(_BILLED_AFTER, {"numbers": group[start:start + CHUNK],
                                                  "entities": list(entities),
                                                  "after": after}):
                out[r.contract_number].append(r)
    return out


def carry_to(locked: Iterable[str], period: str, stored: Carry | None) -> str | None:
    """The month a run for ``period`` carries a contract through: the last month before the
    period locked for its entity (``locked``), if it is after the contract's stored carry."""
    month = max((m for m in locked if m < period), default=None)
    if month is None or (stored is not None and stored.period >= month):
        return None
    return month


def summed(lines: Iterable[Any], until: str) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(source type, account) → (amount, functional amount), debit positive, of the ``lines``
    (journal lines read, or carried sums) dated up to ``until``."""
    out: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for r in lines:
        if r.posting_date > until:
            continue
        sign = 1 if r.side == Side.DEBIT.value else -1
        functional = r.functional_amount if r.functional_amount is not None else r.amount
        tx, fn = out.get((r.source_type, r.account), (Decimal(0), Decimal(0)))
        out[(r.source_type, r.account)] = (tx + sign * r.amount, fn + sign * functional)
    return out


@dataclass(frozen=True, slots=True)
class Carrying:
    """What a run read of one contract, to carry it through ``period``: the billed amount
    before what it read (its carry's), the documents read (after the carry), the revenue
    entries' lines and the documents' lines (each with the carried sums first)."""

    number: str
    period: str
    billed_before: Decimal
    invoices: Sequence[Any]
    credit_notes: Sequence[Any]
    revenue: Sequence[Any]
    billed: Sequence[Any]


def keep(conn: Connection, carrying: Sequence[Carrying]) -> int:
    """Store each contract's carry through its month (module doc), replacing the one it had;
    the number stored."""
    heads: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for c in carrying:
        end = month_end(date.fromisoformat(f"{c.period}-01"))
        heads.append({"contract_number": c.number, "period": c.period,
                      "billed": c.billed_before + net_billed(c.invoices, c.credit_notes, end)})
        for kind, lines in ((REVENUE, c.revenue), (BILLED, c.billed)):
            rows += [{"contract_number": c.number, "kind": kind, "source_type": s,
                      "account": a, "period": c.period, "amount": tx, "functional_amount": fn}
                     for (s, a), (tx, fn) in sorted(summed(lines, end.isoformat()).items())]
    numbers = sorted(c.number for c in carrying)
    for start in range(0, len(numbers), CHUNK):
        for table in (revenue_carried_lines, revenue_recognition_carries):
            conn.execute(delete(table).where(table.c.contract_number.in_(
                numbers[start:start + CHUNK])))
    if heads:
        conn.execute(revenue_recognition_carries.insert(), heads)
    if rows:
        conn.execute(revenue_carried_lines.insert(), rows)
    return len(heads)
