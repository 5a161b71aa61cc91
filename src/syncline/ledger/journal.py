"""Journal entries and the trial balance, derived from entries, never stored as truth.

An entry is immutable and balanced per legal entity and transaction currency; amounts are
stored as positive debits and credits at the currency's minor unit. A correction is a
reversal (``reverse``), never an edit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from syncline.ledger.money import Money


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class UnbalancedEntry(ValueError):
    """An entry whose debits and credits differ: refused before it can be posted."""


@dataclass(frozen=True, slots=True)
class JournalLine:
    account: str
    side: Side
    amount: Money  # transaction currency, positive, rounded to the minor unit
    functional: Money | None = None  # functional-currency amount, when it differs
    fx_rate: Decimal | None = None
    fx_source: str | None = None
    memo: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    fx_date: date | None = None  # the date of ``fx_rate`` (its source is ``fx_source``)

    @property
    def signed(self) -> Decimal:
        return self.amount.amount if self.side is Side.DEBIT else -self.amount.amount


@dataclass(frozen=True, slots=True)
class JournalEntry:
    entity_id: str
    posting_date: date
    description: str
    lines: tuple[JournalLine, ...]
    source_type: str  # e.g. "invoice", "time_cost", "revenue"
    source_id: str
    reverses: str | None = None
    metadata: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        check_balanced(self.lines)

    @property
    def currency(self) -> str:
        return self.lines[0].amount.currency


def check_balanced(lines: Iterable[JournalLine]) -> None:
    """Raise ``UnbalancedEntry`` unless debits equal credits in every currency."""
    net: dict[str, Decimal] = defaultdict(Decimal)
    count = 0
    for line in lines:
        count += 1
        if line.amount.amount < 0:
            raise UnbalancedEntry(f"line on {line.account} has a negative amount")
        if line.amount.rounded() != line.amount:
            raise UnbalancedEntry(f"line on {line.account} is not rounded to the minor unit")
        net[line.amount.currency] += line.signed
    if count < 2:
        raise UnbalancedEntry("an entry needs at least two lines")
    off = {c: v for c, v in net.items() if v != 0}
    if off:
        raise UnbalancedEntry(f"debits and credits differ: {off}")


def line(account: str, side: Side, amount: Money, memo: str = "") -> JournalLine:
    return JournalLine(account=account, side=side, amount=amount.rounded(), memo=memo)


def reverse(entry: JournalEntry, source_id: str, posting_date: date) -> JournalEntry:
    flipped = tuple(
        JournalLine(
            account=ln.account,
            side=Side.CREDIT if ln.side is Side.DEBIT else Side.DEBIT,
            amount=ln.amount,
            functional=ln.functional,
            fx_rate=ln.fx_rate,
            fx_source=ln.fx_source,
            memo=f"reversal: {ln.memo}".strip(),
            dimensions=ln.dimensions,
            fx_date=ln.fx_date,
        )
        for ln in entry.lines
    )
    return JournalEntry(
        entity_id=entry.entity_id,
        posting_date=posting_date,
        description=f"Reversal of {entry.description}",
        lines=flipped,
        source_type=entry.source_type,
        source_id=source_id,
        reverses=entry.source_id,
    )


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    entity_id: str
    account: str
    currency: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        return self.debit - self.credit


@dataclass(frozen=True, slots=True)
class TrialBalance:
    rows: tuple[TrialBalanceRow, ...]

    def totals(self) -> Mapping[tuple[str, str], tuple[Decimal, Decimal]]:
        """(entity, currency) -> (total debits, total credits)."""
        out: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for r in self.rows:
            out[(r.entity_id, r.currency)][0] += r.debit
            out[(r.entity_id, r.currency)][1] += r.credit
        return {k: (v[0], v[1]) for k, v in out.items()}

    @property
    def balanced(self) -> bool:
        return all(d == c for d, c in self.totals().values())


def trial_balance(lines: Iterable[tuple[str, JournalLine]]) -> TrialBalance:
    """Sum ``(entity_id, line)`` pairs into a trial balance, sorted by entity/account/currency."""
    acc: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for entity_id, ln in lines:
        key = (entity_id, ln.account, ln.amount.currency)
        acc[key][0 if ln.side is Side.DEBIT else 1] += ln.amount.amount
    rows = tuple(
        TrialBalanceRow(entity_id=e, account=a, currency=c, debit=v[0], credit=v[1])
        for (e, a, c), v in sorted(acc.items())
    )
    return TrialBalance(rows)


def entry_lines(entries: Iterable[JournalEntry]) -> Iterator[tuple[str, JournalLine]]:
    """``(entity_id, line)`` pairs of ``entries``: the input ``trial_balance`` expects."""
    for entry in entries:
        for ln in entry.lines:
            yield entry.entity_id, ln


def trial_balance_of(entries: Iterable[JournalEntry]) -> TrialBalance:
    """The trial balance of a set of entries."""
    return trial_balance(entry_lines(entries))
