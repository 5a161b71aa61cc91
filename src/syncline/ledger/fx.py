"""Foreign exchange: functional-currency amounts on journal lines, and revaluation at close.

Every line keeps its transaction-currency amount; when the entity's functional currency
differs, the line also carries the functional amount, the rate, its source and its date.

Functional amounts of one entry are made to balance by construction: per transaction
currency, the debit total is converted once (``round(total × rate)``, ROUND_HALF_UP) and
split over the debit lines by the largest-remainder rule in proportion to their amounts; the
credit side likewise. Debits equal credits in the transaction currency, so they equal in the
functional currency too — no rounding line is ever needed.

Revaluation (a close-time policy option): a foreign-currency balance on a monetary account
(AR by default) is restated at the closing rate. The difference between the restated and the
carrying functional amount is posted in the functional currency to the account and to
``fx_gain_loss``; the revaluation lines carry the dimension ``fx_revalues=<currency>`` so
the next revaluation counts them in the carrying amount.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from syncline.ledger.accounts import ChartOfAccounts, UnknownAccountRole
from syncline.ledger.carried import Carried
from syncline.ledger.dimensions import REVALUES as REVALUES  # named here before
from syncline.ledger.journal import JournalEntry, JournalLine, Side
from syncline.ledger.money import Money, is_known_currency


@dataclass(frozen=True, slots=True)
class FxRate:
    """1 ``base`` = ``rate`` ``quote``, as published by ``source`` for ``as_of``."""

    base: str
    quote: str
    rate: Decimal
    source: str
    as_of: date

    def __post_init__(self) -> None:
        if not isinstance(self.rate, Decimal) or self.rate <= 0:
            raise ValueError("an FX rate is a positive Decimal")


@dataclass(frozen=True, slots=True)
class FxError:
    """An amount that cannot be stated in the functional currency."""

    problem: str  # "missing_rate" | "missing_functional" | "unknown_currency" | "unmapped_role"
    message: str
    currency: str = ""


def convert(amount: Money, rate: FxRate) -> Money:
    """``amount`` in the rate's quote currency, rounded to its minor unit."""
    if amount.currency != rate.base:
        raise ValueError(f"rate {rate.base}->{rate.quote} cannot convert {amount.currency}")
    return Money(amount.amount * rate.rate, rate.quote).rounded()


def unconverted(c: Carried, functional_currency: str) -> bool:
    """Whether carried lines lack the functional amount ``foreign_positions`` needs (it names
    the entry, which a carry does not keep: such books are read whole)."""
    return (c.key.currency != functional_currency
            and c.key.functional_currency != functional_currency)


def functional_amount(line: JournalLine, functional_currency: str) -> Money | None:
    """The line's amount in the functional currency; ``None`` if it was never stated."""
    if line.amount.currency == functional_currency:
        return line.amount
    if line.functional is not None and line.functional.currency == functional_currency:
        return line.functional
    return None


def with_functional(
    entry: JournalEntry, functional_currency: str, rates: Mapping[str, FxRate]
) -> JournalEntry | FxError:
    """``entry`` with functional amounts on its foreign-currency lines (see module doc).

    ``rates`` maps a transaction currency to its rate into ``functional_currency``. Lines
    already in the functional currency are left as they are.
    """
    if not is_known_currency(functional_currency):
        return FxError("unknown_currency", f"unknown functional currency {functional_currency!r}",
                       functional_currency)
    new_lines = list(entry.lines)
    by_side: dict[tuple[str, Side], list[int]] = defaultdict(list)
    for i, ln in enumerate(entry.lines):
        if ln.amount.currency != functional_currency:
            by_side[(ln.amount.currency, ln.side)].append(i)
    for (currency, _side), idx in sorted(by_side.items()):
        rate = rates.get(currency)
        if rate is None or rate.quote != functional_currency:
            return FxError("missing_rate",
                           f"no {currency}->{functional_currency} rate for entry "
                           f"{entry.source_id}", currency)
        side_total = sum((entry.lines[i].amount.amount for i in idx), Decimal(0))
        converted = convert(Money(side_total, currency), rate)
        weights = [entry.lines[i].amount.amount for i in idx]
        parts = (converted.split(weights) if side_total != 0
                 else tuple(Money.zero(functional_currency) for _ in idx))
        for i, part in zip(idx, parts, strict=True):
            new_lines[i] = replace(entry.lines[i], functional=part, fx_rate=rate.rate,
                                   fx_source=rate.source, fx_date=rate.as_of)
    return replace(entry, lines=tuple(new_lines))


def functional_imbalance(entry: JournalEntry, functional_currency: str) -> Decimal | None:
    """Debits minus credits in the functional currency; ``None`` if a line has no amount."""
    net = Decimal(0)
    for ln in entry.lines:
        amount = functional_amount(ln, functional_currency)
        if amount is None:
            return None
        net += amount.amount if ln.side is Side.DEBIT else -amount.amount
    return net


# --- revaluation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FxPosition:
    """A foreign-currency balance on one account and what it is carried at."""

    account: str
    balance: Money  # transaction currency, signed (debit positive)
    carrying: Money  # functional currency, signed, including earlier revaluations


def foreign_positions(
    entries: Iterable[JournalEntry], entity_id: str, account: str, functional_currency: str,
    as_of: date, balances: Iterable[Carried] = (),
) -> tuple[FxPosition, ...] | FxError:
    """Per foreign currency, the balance of ``account`` up to ``as_of`` and its carrying value.
    ``balances``: carried through a month before ``entries`` (``ledger.carried``), with no
    foreign line lacking its functional amount (``unconverted``)."""
    tx: dict[str, Decimal] = defaultdict(Decimal)
    carried: dict[str, Decimal] = defaultdict(Decimal)
    for c in balances:
        if c.key.entity != entity_id or c.key.account != account:
            continue
        if c.key.revalues and c.key.currency == functional_currency:
            carried[c.key.revalues] += c.amount
        elif c.key.currency != functional_currency:
            assert c.key.functional_currency == functional_currency, "an unconverted line"
            tx[c.key.currency] += c.amount
            carried[c.key.currency] += c.functional
    for entry in entries:
        if entry.entity_id != entity_id or entry.posting_date > as_of:
            continue
        for ln in entry.lines:
            if ln.account != account:
                continue
            sign = 1 if ln.side is Side.DEBIT else -1
            revalued = dict(ln.dimensions).get(REVALUES)
            if revalued is not None and ln.amount.currency == functional_currency:
                carried[revalued] += sign * ln.amount.amount
                continue
            if ln.amount.currency == functional_currency:
                continue
            functional = functional_amount(ln, functional_currency)
            if functional is None:
                return FxError("missing_functional",
                               f"line on {account} in entry {entry.source_id} has no "
                               f"{functional_currency} amount", ln.amount.currency)
            tx[ln.amount.currency] += sign * ln.amount.amount
            carried[ln.amount.currency] += sign * functional.amount
    return tuple(
        FxPosition(account, Money(tx[c], c), Money(carried[c], functional_currency))
        for c in sorted(set(tx) | set(carried))
    )


@dataclass(frozen=True, slots=True)
class RevaluationPolicy:
    """Close-time option: which roles are revalued (``enabled=False`` skips revaluation)."""

    enabled: bool = True
    roles: tuple[str, ...] = ("accounts_receivable",)


def revalue(
    entries: Iterable[JournalEntry],
    *,
    entity_id: str,
    functional_currency: str,
    closing_rates: Mapping[str, FxRate],
    as_of: date,
    chart: ChartOfAccounts,
    source_id: str,
    policy: RevaluationPolicy = RevaluationPolicy(),
    currencies: Collection[str] | None = None,
    balances: Iterable[Carried] = (),
) -> JournalEntry | FxError | None:
    """The balanced revaluation entry at ``as_of``, or ``None`` if nothing moves.
    ``balances``: carried before ``entries`` (``foreign_positions``).

    For each revalued account and foreign currency: restated = round(balance × closing
    rate); difference = restated − carrying. A positive difference debits the account and
    credits ``fx_gain_loss`` (a gain); a negative one the reverse. All in the functional
    currency, so the entry balances in that currency.

    Revaluation is cumulative: the carrying amount includes earlier revaluations (never
    reversed), so each run moves only the difference since the last one, and a settled
    balance (zero in its currency; no rate needed) releases its remaining carrying amount.
    ``currencies`` limits the run to those foreign currencies (the others stay as carried,
    e.g. while their closing rate is missing).
    """
    if not policy.enabled:
        return None
    entries, balances = tuple(entries), tuple(balances)
    try:
        gain_loss = chart.code("fx_gain_loss")
        accounts = [chart.code(role) for role in policy.roles]
    except UnknownAccountRole as exc:
        return FxError("unmapped_role", f"chart does not map role {exc.args[0]!r}")
    lines: list[JournalLine] = []
    for account in accounts:
        positions = foreign_positions(entries, entity_id, account, functional_currency, as_of,
                                      balances)
        if isinstance(positions, FxError):
            return positions
        for pos in positions:
            currency = pos.balance.currency
            if currencies is not None and currency not in currencies:
                continue
            rate = closing_rates.get(currency)
            if pos.balance.is_zero:
                restated = Money.zero(functional_currency)
            elif rate is None or rate.quote != functional_currency:
                return FxError("missing_rate",
                               f"no closing {currency}->{functional_currency} rate", currency)
            else:
                restated = convert(pos.balance, rate)
            diff = (restated - pos.carrying).rounded()
            if diff.is_zero:
                continue
            up = diff.amount > 0
            size = Money(abs(diff.amount), functional_currency)
            if rate is None:
                memo = f"settled {currency} balance: carrying amount released"
            else:
                memo = (f"revaluation of {pos.balance.canonical()} at {rate.rate} "
                        f"({rate.source} {rate.as_of.isoformat()})")
            dims = ((REVALUES, currency),)
            for acct, side in ((account, Side.DEBIT if up else Side.CREDIT),
                               (gain_loss, Side.CREDIT if up else Side.DEBIT)):
                lines.append(JournalLine(
                    acct, side, size, memo=memo, dimensions=dims,
                    fx_rate=rate.rate if rate else None, fx_source=rate.source if rate else None,
                    fx_date=rate.as_of if rate else None))
    if not lines:
        return None
    return JournalEntry(
        entity_id=entity_id,
        posting_date=as_of,
        description=f"FX revaluation at {as_of.isoformat()}",
        lines=tuple(lines),
        source_type="fx_revaluation",
        source_id=source_id,
    )
