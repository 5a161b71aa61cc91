"""Input facts of the revenue engine: contracts, obligations, methods, facts over time, policy.

Every fact that can change over time carries an ``effective`` date (when it is true in the
world) and a ``recorded_at`` instant (when Syncline learned it): the engine can re-run any
schedule "as known at" an earlier instant by ignoring facts recorded later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class RevenueError(ValueError):
    """Refused input: a contract the engine cannot compute, with the location of the fault."""

    def __init__(self, location: str, rule: str) -> None:
        super().__init__(f"{location}: {rule}")
        self.location = location
        self.rule = rule


def end_of_day(d: date) -> datetime:
    """Default ``recorded_at`` of a fact with none: the end of its effective day (UTC)."""
    return datetime.combine(d, time(23, 59, 59), tzinfo=UTC)


# --- step 4 inputs: stand-alone selling prices ---------------------------------------------


class SspMethod(StrEnum):
    OBSERVABLE = "observable"  # the price the entity sells it for separately
    ADJUSTED_MARKET = "adjusted_market"  # market price x (1 + adjustment)
    COST_PLUS = "cost_plus"  # expected cost x (1 + margin)
    RESIDUAL = "residual"  # transaction price less the other SSPs
    PERCENT_OF_LIST = "percent_of_list"  # list price x percentage


@dataclass(frozen=True, slots=True)
class Ssp:
    method: SspMethod
    amount: Decimal | None = None  # observable
    basis: Decimal | None = None  # market price, expected cost or list price
    factor: Decimal | None = None  # adjustment, margin or percentage (0.15 = 15 %)


# --- step 5 inputs: methods of recognition ---------------------------------------------------


class Convention(StrEnum):
    DAILY = "daily"
    EXACT_TIME = "exact_time"  # by the second between two instants
    MONTHLY_EVEN = "monthly_even"
    MONTHLY_PRORATED = "monthly_prorated"  # first and last partial months by time
    MONTHLY_RATE = "monthly_rate"  # price / months of the term; a part month by its days


class MethodKind(StrEnum):
    POINT_IN_TIME = "point_in_time"
    RATABLE = "ratable"
    COST_TO_COST = "cost_to_cost"
    HOURS = "hours"
    MILESTONES = "milestones"
    UNITS = "units"
    PERCENT_COMPLETE = "percent_complete"
    RIGHT_TO_INVOICE = "right_to_invoice"


@dataclass(frozen=True, slots=True)
class Milestone:
    id: str
    weight: Decimal


@dataclass(frozen=True, slots=True)
class Method:
    kind: MethodKind
    convention: Convention | None = None  # ratable; None = the policy's default
    start_instant: datetime | None = None  # ratable exact_time / prorated by time
    end_instant: datetime | None = None
    milestones: tuple[Milestone, ...] = ()
    units: Decimal | None = None  # output by units: total units promised
    delivery: date | None = None  # point in time: planned transfer date (forecast)


@dataclass(frozen=True, slots=True)
class Obligation:
    id: str
    description: str
    method: Method
    ssp: Ssp
    start: date
    end: date  # inclusive
    price: Decimal = Decimal(0)  # the stated price of the line (fixed consideration)
    series: bool = False  # a series of distinct services (606-10-25-14(b))


# --- step 3 inputs: variable consideration -------------------------------------------------


class VariableMethod(StrEnum):
    EXPECTED_VALUE = "expected_value"
    MOST_LIKELY = "most_likely"


@dataclass(frozen=True, slots=True)
class Scenario:
    amount: Decimal
    probability: Decimal


@dataclass(frozen=True, slots=True)
class VariableEstimate:
    """One estimate of one variable component; a later estimate of the same id reassesses it."""

    id: str
    effective: date
    method: VariableMethod
    scenarios: tuple[Scenario, ...]
    constraint_cap: Decimal | None = None  # amount highly probable not to reverse
    constraint_reason: str = ""
    allocate_to: tuple[str, ...] = ()  # empty: all obligations by relative SSP
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DiscountAllocation:
    """A discount the evidence ties to some obligations only (606-10-32-37)."""

    obligations: tuple[str, ...]
    amount: Decimal
    evidence: str = ""


# --- facts over time -----------------------------------------------------------------------


class ActualKind(StrEnum):
    COST = "cost"
    UNINSTALLED_MATERIAL = "uninstalled_material"
    INEFFICIENCY = "inefficiency"
    HOURS = "hours"
    UNITS = "units"
    BILLABLE = "billable"  # right to invoice: the amount earned (T&M)
    PERCENT = "percent"  # observed percent complete, cumulative (0-100)
    MILESTONE = "milestone"  # accepted; ref = milestone id
    DELIVERY = "delivery"  # point in time: control transferred


@dataclass(frozen=True, slots=True)
class Actual:
    obligation_id: str
    kind: ActualKind
    date: date
    quantity: Decimal = Decimal(0)
    ref: str = ""
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Estimate:
    """Estimate at completion (cost or hours), versioned by effective date."""

    obligation_id: str
    effective: date
    total: Decimal
    uninstalled_materials: Decimal = Decimal(0)
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str
    date: date
    amount: Decimal
    due: dt.date | None = None
    unconditional_from: dt.date | None = None  # default: the invoice date
    cancellable: bool = False  # no receivable until paid (606-10-45-2)
    recorded_at: datetime | None = None
    rate: Decimal | None = None  # invoice-date rate: functional units per contract unit
    rate_source: str = ""


@dataclass(frozen=True, slots=True)
class Payment:
    invoice_id: str
    date: date
    amount: Decimal
    recorded_at: datetime | None = None
    rate: Decimal | None = None  # settlement rate: functional units per contract unit
    rate_source: str = ""


# --- modifications -------------------------------------------------------------------------


class Treatment(StrEnum):
    SEPARATE_CONTRACT = "separate_contract"
    PROSPECTIVE = "termination_and_new_contract"
    CATCH_UP = "cumulative_catch_up"


@dataclass(frozen=True, slots=True)
class ObligationChange:
    """A change to an existing obligation: more units, a new end, a price change."""

    obligation_id: str
    price_delta: Decimal = Decimal(0)
    added_units: Decimal = Decimal(0)
    new_end: date | None = None
    added_ssp: Decimal | None = None  # SSP of what is added, for the priced-at-SSP test


@dataclass(frozen=True, slots=True)
class Modification:
    id: str
    effective: date
    description: str = ""
    added: tuple[Obligation, ...] = ()
    changes: tuple[ObligationChange, ...] = ()
    concession: Decimal = Decimal(0)  # price reduction for goods already transferred
    added_distinct: bool | None = None  # None: derived
    priced_at_ssp: bool | None = None  # None: derived from prices and SSPs
    remaining_distinct: bool | None = None  # None: derived
    treatment: Treatment | None = None  # an override, recorded as such
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AllocationOverride:
    """A documented manual allocation of the fixed consideration, used instead of relative
    SSP: the amount of every allocable obligation, summing exactly to the fixed price, with
    the reason and who approved it (and when)."""

    amounts: tuple[tuple[str, Decimal], ...]
    reason: str
    approved_by: str
    approved_on: date | None = None


# --- the contract and the policy -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RevenueContract:
    id: str
    currency: str
    start: date
    obligations: tuple[Obligation, ...]
    customer: str = ""
    fixed_price: Decimal | None = None  # None: the sum of the obligations' prices
    discounts: tuple[DiscountAllocation, ...] = ()
    variable: tuple[VariableEstimate, ...] = ()
    actuals: tuple[Actual, ...] = ()
    estimates: tuple[Estimate, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    payments: tuple[Payment, ...] = ()
    modifications: tuple[Modification, ...] = ()
    combined_from: tuple[str, ...] = ()
    combination_reason: str = ""
    allocation_override: AllocationOverride | None = None
    functional_currency: str | None = None  # the entity's, when the contract is foreign


class ScheduleRounding(StrEnum):
    CUMULATIVE = "cumulative"  # each period = round(cum) - round(previous cum)
    TRUNCATE_REMAINDER_LAST_FULL = "truncate_remainder_last_full"  # vendor style


ROUNDING_MODES = ("ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_HALF_DOWN", "ROUND_DOWN", "ROUND_UP")


@dataclass(frozen=True, slots=True)
class RevenuePolicy:
    rounding: str = ROUND_HALF_UP
    schedule_rounding: ScheduleRounding = ScheduleRounding.CUMULATIVE
    ratable_convention: Convention = Convention.DAILY
    ssp_tolerance: Decimal = Decimal("0")  # relative band for "priced at SSP"
    rpo_buckets_months: tuple[int, ...] = (12, 24)
    rpo_expedient_one_year: bool = True  # 606-10-50-14(a)
    rpo_expedient_right_to_invoice: bool = True  # 606-10-50-14(b)
    net_contract_balances: bool = True  # 606-10-45-1: one net position per contract
    version: str = "v1"
    tags: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.rounding not in ROUNDING_MODES:
            raise RevenueError("policy.rounding", f"must be one of {', '.join(ROUNDING_MODES)}")
