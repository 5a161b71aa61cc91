"""What ``compute_schedule`` returns: each obligation's columns over the periods (cumulative
revenue, allocation, progress, base, segment), the segments, the modification decisions,
the catch-ups and the issues. Everything derived is a function of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from syncline.revenue.allocation import Allocation
from syncline.revenue.calendar import Period
from syncline.revenue.model import MethodKind, RevenueContract, RevenuePolicy
from syncline.revenue.modifications import ModificationDecision
from syncline.revenue.price import TransactionPrice


@dataclass(frozen=True, slots=True)
class ObligationSchedule:
    """One obligation over the periods; all amounts in minor units, explanation data kept."""

    obligation_id: str
    contract_id: str
    description: str
    method: MethodKind
    start: date
    end: date
    cumulative: tuple[int, ...]
    allocated: tuple[int, ...]  # consideration attributed to the obligation at each period
    num: tuple[int, ...]
    den: tuple[int, ...]
    extra: tuple[int, ...]
    extra_total: tuple[int, ...]
    base: tuple[int, ...]
    segment: tuple[int, ...]
    basis: str

    @property
    def revenue(self) -> tuple[int, ...]:
        prev = 0
        out = []
        for c in self.cumulative:
            out.append(c - prev)
            prev = c
        return tuple(out)


@dataclass(frozen=True, slots=True)
class CatchUp:
    obligation_id: str
    period: str
    amount: int
    cause: str
    date: date | None = None  # the effective day of what caused it, when it has one


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    index: int
    kind: str  # inception | separate_contract | termination_and_new_contract | ...
    contract_id: str
    starts: date
    modification_id: str | None
    allocation: Allocation
    transaction_price: TransactionPrice


@dataclass(frozen=True, slots=True)
class Issue:
    location: str
    rule: str


@dataclass(frozen=True, slots=True)
class ContractStep:
    contract_id: str
    customer: str
    currency: str
    combined_from: tuple[str, ...]
    combination_reason: str


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    contract: ContractStep
    currency: str
    as_of: date
    known_at: datetime | None
    policy: RevenuePolicy
    periods: tuple[Period, ...]
    as_of_index: int
    obligations: tuple[ObligationSchedule, ...]
    segments: tuple[SegmentInfo, ...]
    decisions: tuple[ModificationDecision, ...]
    catch_ups: tuple[CatchUp, ...]
    issues: tuple[Issue, ...]
    source: RevenueContract = field(repr=False, compare=False)

    @property
    def transaction_price(self) -> TransactionPrice:
        return self.segments[0].transaction_price

    def line(self, obligation_id: str) -> ObligationSchedule:
        for ln in self.obligations:
            if ln.obligation_id == obligation_id:
                return ln
        raise KeyError(obligation_id)

    def period_index(self, key: str) -> int:
        for i, p in enumerate(self.periods):
            if p.key == key:
                return i
        raise KeyError(key)

    def revenue_by_period(self) -> tuple[int, ...]:
        n = len(self.periods)
        tot = [0] * n
        for ln in self.obligations:
            for k, v in enumerate(ln.revenue):
                tot[k] += v
        return tuple(tot)

    def cumulative_at(self, index: int) -> int:
        return sum(ln.cumulative[index] for ln in self.obligations) if index >= 0 else 0
