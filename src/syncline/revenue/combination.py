"""Step 1: combination of contracts entered into at or near the same time (606-10-25-9)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from syncline.revenue.model import RevenueContract, RevenueError


def combine(contracts: Sequence[RevenueContract], reason: str, combined_id: str = ""
            ) -> RevenueContract:
    """One contract from several: obligations, facts and price terms put together.

    ``reason`` records which criterion of 25-9 holds (negotiated as a package; the price of
    one depends on the other; the goods are a single performance obligation).
    """
    if len(contracts) < 2:
        raise RevenueError("combination.contracts", "at least two contracts are combined")
    if len({c.currency for c in contracts}) != 1:
        raise RevenueError("combination.contracts", "combined contracts share one currency")
    if not reason:
        raise RevenueError("combination.reason", "state the 25-9 criterion that is met")
    first = contracts[0]
    fixed = None
    if any(c.fixed_price is not None for c in contracts):
        fixed = sum((c.fixed_price if c.fixed_price is not None
                     else sum((o.price for o in c.obligations), Decimal(0))
                     for c in contracts), Decimal(0))
    return RevenueContract(
        id=combined_id or "+".join(c.id for c in contracts),
        currency=first.currency,
        start=min(c.start for c in contracts),
        obligations=tuple(o for c in contracts for o in c.obligations),
        customer=first.customer,
        fixed_price=fixed,
        discounts=tuple(d for c in contracts for d in c.discounts),
        variable=tuple(v for c in contracts for v in c.variable),
        actuals=tuple(a for c in contracts for a in c.actuals),
        estimates=tuple(e for c in contracts for e in c.estimates),
        invoices=tuple(i for c in contracts for i in c.invoices),
        payments=tuple(p for c in contracts for p in c.payments),
        modifications=tuple(m for c in contracts for m in c.modifications),
        combined_from=tuple(c.id for c in contracts),
        combination_reason=reason,
    )
