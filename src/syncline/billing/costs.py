"""Cost rates: effective-dated and versioned, from HR, kept apart from bill rates.

The rate in force on a date is the version whose range covers it with the latest
``effective_from``; among equal starts, the highest version (a correction) wins. No version
on the date is ``CostRateMissing`` — never a zero cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from syncline.domain.errors import BusinessDomain, Problem
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.money import Money
from syncline.ledger.posting import (
    DEFAULT_RULES,
    LABOR_COST,
    PostingError,
    PostingRules,
    post,
)


@dataclass(frozen=True, slots=True)
class CostRateVersion:
    worker_id: str
    rate: Money  # per hour
    effective_from: date
    effective_to: date | None = None  # inclusive
    version: int = 1
    source: str = "hris"

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True, slots=True)
class CostRateMissing:
    worker_id: str
    on: date

    @property
    def message(self) -> str:
        return f"no HR cost rate for worker {self.worker_id or '-'} on {self.on}"

    def problem(self) -> Problem:
        return Problem(
            code="billing.cost_rate_missing", domain=BusinessDomain.HR, message=self.message,
            remediation=("Record the worker's cost rate effective on that date in the HRIS "
                         "(compensation), let worker.upserted sync, then retry."),
            objects=(("worker", self.worker_id),),
        )


def resolve_cost_rate(versions: Iterable[CostRateVersion], on: date, *,
                      worker_id: str | None = None) -> Money | CostRateMissing:
    best: CostRateVersion | None = None
    for v in versions:
        if (worker_id is not None and v.worker_id != worker_id) or not v.covers(on):
            continue
        if best is None or (v.effective_from, v.version) > (best.effective_from, best.version):
            best = v
    if best is None:
        return CostRateMissing(worker_id or "", on)
    return best.rate


def labor_cost(hours: Decimal, versions: Iterable[CostRateVersion], on: date, *,
               worker_id: str | None = None) -> Money | CostRateMissing:
    rate = resolve_cost_rate(versions, on, worker_id=worker_id)
    return rate if isinstance(rate, CostRateMissing) else (rate * hours).rounded()


def labor_cost_posting(entity_code: str, period_end: date, period: str, cost: Money,
                       chart: ChartOfAccounts, *, rules: PostingRules = DEFAULT_RULES,
                       ) -> JournalEntry | PostingError:
    """Approved time of ``period`` costed at HR cost rates, one entry per entity and cost
    currency (``labor:<entity>:<currency>:<period>``), by rule ``billing.labor_cost``:
    Dr labor cost / Cr accrued payroll by default. Amount key ``cost``."""
    return post(rules.rule(LABOR_COST, entity_code), {"cost": cost}, chart=chart,
                entity_id=entity_code,
                posting_date=period_end,
                source_id=f"labor:{entity_code}:{cost.currency}:{period}",
                params={"period": period, "currency": cost.currency})
