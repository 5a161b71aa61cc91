"""What a recognition reads of the journal, for many contracts at once.

A contract's revenue entries are those whose source id is ``revenue:<contract>:<period>``
(a catch-up adds ``:r<n>``). Read one contract at a time, each look-up (``LIKE
'revenue:<contract>:%'``) scanned every revenue entry of the firm — a cost that grew with the
contracts times the months. Here the revenue entries are read once for the run (their lines,
with the functional amounts) and given to each contract by the prefix of their source id:

- `RevenueJournal.lines`: what the true-up has posted (`posted_amounts`) and the revenue part
  of a foreign-currency contract's carrying balances;
- `RevenueJournal.ids`: the source ids already taken, so a catch-up takes the next one;
- `billed_lines`: the invoice and credit-note lines of the contracts that need carrying
  balances (one statement for a chunk of them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select

from syncline.adapters.db.billing_tables import credit_notes
from syncline.adapters.db.ledger_tables import journal_line_details
from syncline.adapters.db.tables import invoices, journal_entries, journal_lines
from syncline.ledger.journal import Side
from syncline.ledger.posting import PostingRule, source_type_of
from syncline.services.revenue.billable import numbers_in

PREFIX = "revenue:"
FEW = 50  # up to this many contracts, the read names them (else it reads every revenue entry)

_je, _jl, _jd = journal_entries.c, journal_lines.c, journal_line_details.c
_LINES = (select(_je.source_type, _je.source_id, _je.posting_date, _jl.account, _jl.side,
                 _jl.amount, _jd.functional_amount)
          .select_from(journal_lines.join(journal_entries).outerjoin(
              journal_line_details, (_jd.entry_id == _jl.entry_id)
              & (_jd.line_no == _jl.line_no))))
_AFTER = _LINES.where(_je.entity_code.in_(bindparam("entities", expanding=True))
                      & (_je.posting_date > bindparam("after"))
                      & _je.source_id.like(f"{PREFIX}%"))
_BILLED = (_LINES.where(
    _jl.account.in_(bindparam("accounts", expanding=True))
    & (_je.posting_date <= bindparam("until"))
    & (((_je.source_type == "invoice") & _je.source_id.in_(
        select(invoices.c.number).where(numbers_in(invoices.c.contract_number))))
       | ((_je.source_type == "credit_note") & _je.source_id.in_(
           select(credit_notes.c.number).where(numbers_in(credit_notes.c.contract_number)))))))


@dataclass
class RevenueJournal:
    """The revenue entries of some contracts: lines and source ids, by contract."""

    lines: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def read(cls, conn: Connection, numbers: Collection[str],
             carried: Mapping[str, Any] | None = None,
             entities: Sequence[str] = ()) -> RevenueJournal:
        """The revenue entries of ``numbers``; a contract with a carry (``carried``:
        `recognition_carried.Carry`, docs/adr/0022) has its carried sums as lines and the
        lines of the entries dated after it (read by ``entities``' dates), not the rest."""
        carried = carried or {}
        found = cls()
        wanted = {n for n in numbers if n not in carried}
        if wanted:
            if len(wanted) <= FEW:  # a narrower statement; the prefixes below decide
                query = _LINES.where(or_(*(_je.source_id.like(f"{PREFIX}{n}:%")
                                           for n in sorted(wanted))))
            else:
                query = _LINES.where(_je.source_id.like(f"{PREFIX}%"))
            found._add(conn.execute(query), wanted)
        groups: dict[str, set[str]] = defaultdict(set)
        for n in numbers:
            if n in carried:
                groups[carried[n].end].add(n)
                found.lines[n].extend(carried[n].revenue)
        for after, group in sorted(groups.items()):
            found._add(conn.execute(_AFTER, {"entities": list(entities), "after": after}),
                       group)
        return found

    def _add(self, rows: Iterable[Any], wanted: Collection[str]) -> None:
        for r in rows:
            for number in owners(r.source_id, wanted):
                self.lines[number].append(r)
                self.ids[number].add(r.source_id)

    def taken(self, number: str, base: str) -> set[str]:
        """The source ids of ``number``'s entries that begin with ``base``."""
        return {s for s in self.ids.get(number, ()) if s.startswith(base)}


def owners(source_id: str, wanted: Collection[str]) -> list[str]:
    """The contracts of ``wanted`` whose revenue entries' prefix (``revenue:<contract>:``)
    begins ``source_id``."""
    if not source_id.startswith(PREFIX):
        return []
    rest = source_id[len(PREFIX):]
    return [rest[:i] for i, ch in enumerate(rest) if ch == ":" and rest[:i] in wanted]


def posted_amounts(lines: Iterable[Any], rule: PostingRule,
                   accounts: Mapping[str, tuple[str, int]], until: date) -> dict[str, Decimal]:
    """Per amount key of the true-up rule, what the contract's revenue entries (``lines``)
    dated up to ``until`` posted, in the direction of its template line (entries of later
    periods are not the business of this period's true-up). An account the rule no longer
    names (a service line changed) counts for the amount key whose role varies by params, if
    there is one."""
    varying = {tl.amount for tl in rule.lines if "{" in tl.role}
    fallback = next(iter(varying)) if len(varying) == 1 else None
    sign_of = {key: sign for key, sign in accounts.values()}
    source_type, last = source_type_of(rule), until.isoformat()
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in lines:
        if r.source_type != source_type or r.posting_date > last:
            continue
        signed = r.amount if r.side == Side.DEBIT.value else -r.amount
        key, sign = accounts.get(r.account, (fallback, sign_of.get(fallback or "", 1)))
        if key is not None:
            out[key] += sign * signed
    return out


def billed_lines(conn: Connection, numbers: Sequence[str], accounts: Collection[str],
                 until: date, invoice_of: Mapping[tuple[str, str], str],
                 ) -> dict[str, list[Any]]:
    """Lines in ``accounts`` dated up to ``until`` of the invoices and credit notes of the
    contracts ``numbers``, by contract (``invoice_of``: (source type, document number) →
    contract)."""
    out: dict[str, list[Any]] = defaultdict(list)
    for start in range(0, len(numbers), 500):
        for r in conn.execute(_BILLED, {"numbers": list(numbers[start:start + 500]),
                                        "accounts": sorted(accounts),
                                        "until": until.isoformat()}):
            number = invoice_of.get((r.source_type, r.source_id))
            if number is not None:
                out[number].append(r)
    return out


def carrying_balances(lines: Iterable[Any], accounts: Collection[str], until: date,
                      ) -> dict[str, tuple[Decimal, Decimal]]:
    """Per account of ``accounts``, the contract's balance (transaction, functional; debit
    positive) from ``lines`` (its invoices', credit notes' and revenue entries') dated up to
    ``until``."""
    last = until.isoformat()
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for r in lines:
        if r.account not in accounts or r.posting_date > last:
            continue
        sign = 1 if r.side == Side.DEBIT.value else -1
        tx, fn = out.get(r.account, (Decimal(0), Decimal(0)))
        functional = r.functional_amount if r.functional_amount is not None else r.amount
        out[r.account] = (tx + sign * r.amount, fn + sign * functional)
    return out
