"""FX snapshots: the rate, its source and its date, recorded on whatever it converted.

A conversion never guesses: no rate for a currency pair on a date is an ``FxRateMissing``
error value (never a silent ``rate or 1``). Converted amounts are rounded half-up to the
target currency's minor unit. The same currency converts at rate 1 with source ``"identity"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.ledger.money import Money


@dataclass(frozen=True, slots=True)
class FxSnapshot:
    """1 ``base`` = ``rate`` ``quote``, as published by ``source`` for ``as_of``."""

    base: str
    quote: str
    rate: Decimal
    source: str
    as_of: date

    def __post_init__(self) -> None:
        if not isinstance(self.rate, Decimal) or self.rate <= 0:
            raise ValueError(f"an FX rate must be a positive Decimal, got {self.rate!r}")


@dataclass(frozen=True, slots=True)
class FxRateMissing:
    """No published rate from ``base`` to ``quote`` on or before ``on``."""

    base: str
    quote: str
    on: date

    @property
    def message(self) -> str:
        return f"no FX rate {self.base}->{self.quote} published on or before {self.on}"

    @property
    def key(self) -> str:
        """What a message needing this rate waits for: ``fx:<BASE>/<QUOTE>:<date>``; any rate
        of the pair (or its inverse) published on or before the date satisfies it."""
        return f"fx:{self.base}/{self.quote}:{self.on.isoformat()}"

    def problem(self, *objects: tuple[str, str]) -> Problem:
        """A missing rate is treasury's to publish: a finance exception."""
        return Problem(
            code="billing.fx_rate_missing", domain=BusinessDomain.FINANCE, message=self.message,
            remediation=(f"Load the {self.base}/{self.quote} rate for {self.on} from the "
                         "treasury rate feed (fx.rates_published), then re-run the billing cycle."),
            severity=Severity.HIGH, objects=objects,
        )


def identity(currency: str, on: date) -> FxSnapshot:
    return FxSnapshot(currency, currency, Decimal(1), "identity", on)


def lookup_rate(
    rates: Iterable[FxSnapshot], *, base: str, quote: str, on: date,
) -> FxSnapshot | FxRateMissing:
    """The latest rate for ``base``→``quote`` dated on or before ``on``.

    A published inverse rate (``quote``→``base``) is used when no direct one exists, inverted
    at 10 significant decimals and with ``"inverse of"`` in its source.
    """
    if base == quote:
        return identity(base, on)
    best: FxSnapshot | None = None
    best_key: tuple[date, bool] = (date.min, False)
    for snap in rates:
        if snap.as_of > on:
            continue
        direct = snap.base == base and snap.quote == quote
        inverse = snap.base == quote and snap.quote == base
        if not (direct or inverse):
            continue
        candidate = snap if direct else FxSnapshot(
            base, quote, (Decimal(1) / snap.rate).quantize(Decimal("1e-10"), ROUND_HALF_UP),
            f"inverse of {snap.source}", snap.as_of)
        if best is None or (candidate.as_of, direct) > best_key:
            best, best_key = candidate, (candidate.as_of, direct)
    return best if best is not None else FxRateMissing(base, quote, on)


def convert(amount: Money, snapshot: FxSnapshot) -> Money:
    """``amount`` in the snapshot's quote currency, rounded half-up to its minor unit."""
    if amount.currency != snapshot.base:
        raise ValueError(f"snapshot converts {snapshot.base}, not {amount.currency}")
    return Money(amount.amount * snapshot.rate, snapshot.quote).rounded()
