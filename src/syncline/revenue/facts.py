"""Bitemporal facts: the contract as known at an instant and effective by a date."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from syncline.revenue.model import RevenueContract, end_of_day


def _known(recorded_at: datetime | None, effective: date, known_at: datetime | None) -> bool:
    if known_at is None:
        return True
    return (recorded_at or end_of_day(effective)) <= known_at


def known_view(contract: RevenueContract, as_of: date, known_at: datetime | None
               ) -> RevenueContract:
    """``contract`` with only the facts effective by ``as_of`` and recorded by ``known_at``.

    Variable-consideration estimates and estimates at completion effective after ``as_of``
    are dropped too: a forecast uses what was believed at ``as_of``.
    """
    if known_at is None and _all_effective_by(contract, as_of):
        return contract  # nothing to cut: the contract is its own view

    def keep(rec: datetime | None, eff: date) -> bool:
        return eff <= as_of and _known(rec, eff, known_at)

    return replace(
        contract,
        actuals=tuple(x for x in contract.actuals if keep(x.recorded_at, x.date)),
        estimates=tuple(x for x in contract.estimates if keep(x.recorded_at, x.effective)),
        variable=tuple(x for x in contract.variable if keep(x.recorded_at, x.effective)),
        invoices=tuple(x for x in contract.invoices if keep(x.recorded_at, x.date)),
        payments=tuple(x for x in contract.payments if keep(x.recorded_at, x.date)),
        modifications=tuple(x for x in contract.modifications
                            if keep(x.recorded_at, x.effective)),
    )


def _all_effective_by(contract: RevenueContract, as_of: date) -> bool:
    return (all(x.date <= as_of for x in contract.actuals)
            and all(x.effective <= as_of for x in contract.estimates)
            and all(x.effective <= as_of for x in contract.variable)
            and all(x.date <= as_of for x in contract.invoices)
            and all(x.date <= as_of for x in contract.payments)
            and all(x.effective <= as_of for x in contract.modifications))
