"""The firm's plan: who works there, who buys what, when. Pure values drawn from one RNG.

Workers are spread across the legal entities and shaped as a pyramid (few partners, many
analysts). Each customer belongs to one entity and contracts in its functional currency; it
buys one or two engagements (time and materials, fixed fee with milestones, or a retainer)
closing over the first months of the period.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from syncline.domain.reference import ReferenceData
from syncline.simulator.envelope import (
    add_months,
    at_hour,
    monday_on_or_after,
    weekday_on_or_after,
    window_end,
)
from syncline.simulator.model import SimulationConfig
from syncline.simulator.names import company_name, email_local, person_name, slug

ENTITY_SHARE: tuple[tuple[str, int], ...] = (("US01", 60), ("GB01", 25), ("DE01", 15))
ROLE_SHARE: tuple[tuple[str, int], ...] = (
    ("partner", 8), ("manager", 17), ("senior_consultant", 25), ("consultant", 25),
    ("analyst", 25),
)
_COST_USD: dict[str, tuple[int, int]] = {
    "partner": (150, 200), "manager": (105, 140), "senior_consultant": (80, 105),
    "consultant": (60, 80), "analyst": (45, 60),
}
_COST_FACTOR: dict[str, Decimal] = {"USD": Decimal("1"), "GBP": Decimal("0.80"),
                                    "EUR": Decimal("0.92")}
_HALF = Decimal("0.5")

_SERVICES: dict[str, tuple[str, ...]] = {
    "implementation": ("ERP implementation", "CRM rollout", "Data platform build",
                       "Billing system migration", "HR system implementation"),
    "advisory": ("Finance transformation assessment", "Operating model review",
                 "Cloud cost advisory", "Pricing strategy", "Procurement diagnostic"),
    "managed_service": ("Managed application support", "Managed data operations",
                        "Managed cloud operations"),
}
_MILESTONES: dict[str, tuple[str, ...]] = {
    "implementation": ("Discovery sign-off", "Design approval", "Build complete",
                       "User acceptance", "Go-live acceptance"),
    "advisory": ("Current-state assessment", "Interim findings", "Final recommendations",
                 "Roadmap sign-off"),
}
_BLENDED_RATE = {"implementation": 185, "advisory": 220, "managed_service": 160}
_TEAM = {"implementation": (2, 5), "advisory": (1, 3), "managed_service": (1, 3)}


@dataclass(frozen=True)
class Worker:
    worker_id: str
    name: str
    email: str
    role: str
    entity: str
    currency: str
    cost_rate: Decimal
    hire_date: date
    onboarded_at: datetime


@dataclass(frozen=True)
class Raise:
    worker_id: str
    effective: date
    announced_at: datetime
    cost_rate: Decimal


@dataclass(frozen=True)
class Termination:
    worker_id: str
    last_day: date
    announced_at: datetime
    reason: str


@dataclass(frozen=True)
class Customer:
    external_id: str
    name: str
    country: str
    entity: str
    tax_profile: str
    contact: str
    billing_email: str


@dataclass(frozen=True)
class MilestonePlan:
    milestone_id: str
    name: str
    amount: Decimal
    due: date


@dataclass(frozen=True, eq=False)  # compared by identity: one plan, one object per deal
class Deal:
    deal_id: str
    customer: Customer
    currency: str
    billing_type: str
    template: str
    closed_at: datetime
    start: date
    end: date
    contract_number: str
    project_code: str
    project_name: str
    payment_terms_days: int
    amount: Decimal | None  # the fixed fee, or the retainer's monthly fee
    estimated_hours: Decimal | None
    rates: tuple[tuple[str, Decimal], ...]
    milestones: tuple[MilestonePlan, ...]
    approver: str  # the engagement manager who approves timesheets
    team: int  # how many people the engagement is staffed with (not sent)

    def open_on(self, day: date) -> bool:
        """Work may be booked: the contract runs and the deal has closed before that day."""
        return self.start <= day <= self.end and day > self.closed_at.date()


@dataclass(frozen=True)
class Firm:
    workers: tuple[Worker, ...]
    raises: tuple[Raise, ...]
    terminations: tuple[Termination, ...]
    customers: tuple[Customer, ...]
    deals: tuple[Deal, ...]


def apportion(total: int, shares: tuple[tuple[str, int], ...]) -> list[tuple[str, int]]:
    """Split `total` by `shares` with the largest-remainder rule (ties: the earlier share)."""
    weight = sum(w for _, w in shares)
    exact = [(name, total * w / weight) for name, w in shares]
    counts = {name: int(x) for name, x in exact}
    left = total - sum(counts.values())
    by_remainder = sorted(range(len(exact)), key=lambda i: -(exact[i][1] - int(exact[i][1])))
    for i in by_remainder[:left]:
        counts[exact[i][0]] += 1
    return [(name, counts[name]) for name, _ in shares]


def plan_firm(config: SimulationConfig, rng: random.Random, ref: ReferenceData) -> Firm:
    workers = _plan_workers(config, rng, ref)
    raises = _plan_raises(config, rng, workers)
    terminations = _plan_terminations(config, rng, workers)
    ended = {t.worker_id: t.last_day for t in terminations}
    raises = tuple(r for r in raises if r.effective <= ended.get(r.worker_id, r.effective))
    customers = _plan_customers(config, rng, ref)
    deals = _plan_deals(config, rng, ref, customers, workers)
    return Firm(workers, raises, terminations, customers, deals)


def _cost_rate(rng: random.Random, role: str, currency: str) -> Decimal:
    low, high = _COST_USD[role]
    usd = Decimal(rng.randint(low * 2, high * 2)) * _HALF
    return (usd * _COST_FACTOR[currency] / _HALF).to_integral_value() * _HALF


def _plan_workers(config: SimulationConfig, rng: random.Random,
                  ref: ReferenceData) -> tuple[Worker, ...]:
    drafts: list[tuple[date, str, str]] = []
    for code, count in apportion(config.workers, ENTITY_SHARE):
        for role, n in apportion(count, ROLE_SHARE):
            for _ in range(n):
                tenure = {"partner": 3650, "manager": 2500}.get(role, 1500)
                hired = config.start - timedelta(days=rng.randint(10, tenure))
                drafts.append((hired, code, role))
    drafts.sort()
    taken: set[str] = set()
    workers = []
    for i, (hired, entity_code, role) in enumerate(drafts):
        entity = ref.entity(entity_code)
        assert entity is not None
        name = person_name(rng, entity.country, taken)
        onboarded = at_hour(config.start, rng, 5, 6)
        workers.append(Worker(
            worker_id=f"WD-{10001 + i}", name=name,
            email=f"{email_local(name)}@northwind.example", role=role,
            entity=entity_code, currency=entity.functional_currency,
            cost_rate=_cost_rate(rng, role, entity.functional_currency),
            hire_date=hired, onboarded_at=onboarded,
        ))
    return tuple(workers)


def _plan_raises(config: SimulationConfig, rng: random.Random,
                 workers: tuple[Worker, ...]) -> tuple[Raise, ...]:
    first_of_month = date(config.start.year, config.start.month, 1)
    months = [add_months(first_of_month, m) for m in range(1, config.months)]
    months = [m for m in months if config.start < m < window_end(config)]
    raises = []
    for worker in workers:
        if not months or rng.random() >= 0.2:
            continue
        effective = rng.choice(months)
        pct = Decimal(rng.randint(3, 8)) / 100
        new_rate = (worker.cost_rate * (1 + pct) / _HALF).to_integral_value() * _HALF
        raises.append(Raise(worker.worker_id, effective,
                            at_hour(effective - timedelta(days=1), rng, 15, 20), new_rate))
    return tuple(raises)


def _plan_terminations(config: SimulationConfig, rng: random.Random,
                       workers: tuple[Worker, ...]) -> tuple[Termination, ...]:
    candidates = [w for w in workers if w.role != "partner"]
    if not candidates:
        return ()
    count = 2 if len(workers) >= 10 and rng.random() < 0.5 else 1
    end = window_end(config)
    span = (end - config.start).days
    out = []
    for worker in sorted(rng.sample(candidates, min(count, len(candidates))),
                         key=lambda w: w.worker_id):
        # The last day leaves a week or more of the period after it (for the data faults).
        back = rng.randint(10, 25) if span > 40 else max(1, span // 3)
        last_day = end - timedelta(days=back)
        while last_day.weekday() >= 5:
            last_day -= timedelta(days=1)
        notice = max(config.start, last_day - timedelta(days=rng.randint(0, 7)))
        out.append(Termination(
            worker.worker_id, last_day, at_hour(notice, rng, 13, 17),
            rng.choice(("Resignation", "Resignation: joined a client", "End of fixed-term "
                        "contract", "Relocation")),
        ))
    return tuple(out)


def _plan_customers(config: SimulationConfig, rng: random.Random,
                    ref: ReferenceData) -> tuple[Customer, ...]:
    taken: set[str] = set()
    people: set[str] = set()
    customers: list[Customer] = []
    for entity_code, count in apportion(config.customers, ENTITY_SHARE):
        entity = ref.entity(entity_code)
        assert entity is not None
        for _ in range(count):
            country = entity.country
            if entity_code == "US01":
                tax = "US-NY-SVC" if rng.random() < 0.2 else "US-EXEMPT"
            elif entity_code == "GB01":
                tax = "GB-VAT-STD"
            elif rng.random() < 0.25:
                tax, country = "EU-REVERSE", rng.choice(("NL", "FR", "AT"))
            else:
                tax = "DE-VAT-STD"
            name = company_name(rng, country, taken)
            customers.append(Customer(
                external_id=f"ACC-{10001 + len(customers)}", name=name, country=country,
                entity=entity_code, tax_profile=tax, contact=person_name(rng, country, people),
                billing_email=f"accounts.payable@{slug(name)}.example",
            ))
    return tuple(customers)


@dataclass(frozen=True)
class _Draft:
    customer: Customer
    closed_at: datetime
    billing_type: str
    template: str
    months: int
    service: str


def _plan_deals(config: SimulationConfig, rng: random.Random, ref: ReferenceData,
                customers: tuple[Customer, ...], workers: tuple[Worker, ...]) -> tuple[Deal, ...]:
    span = (window_end(config) - config.start).days
    drafts: list[_Draft] = []
    for customer in customers:
        first = rng.randint(0, max(1, span * 5 // 10))
        offsets = [first]
        if rng.random() < 0.4 and first + 20 < span * 8 // 10:
            offsets.append(rng.randint(first + 20, span * 8 // 10))
        for offset in offsets:
            drafts.append(_draft(rng, customer, config.start + timedelta(days=offset)))
    drafts.sort(key=lambda d: (d.closed_at, d.customer.external_id))
    approvers: dict[str, list[str]] = {}
    for w in workers:
        if w.role in ("partner", "manager"):
            approvers.setdefault(w.entity, []).append(w.name)
    return tuple(
        _deal(rng, ref, draft, 1001 + i, approvers.get(draft.customer.entity, []))
        for i, draft in enumerate(drafts)
    )


def _draft(rng: random.Random, customer: Customer, day: date) -> _Draft:
    roll = rng.random()
    if roll < 0.5:
        kind, template, months = "time_and_materials", rng.choice(
            ("implementation", "advisory")), rng.randint(3, 9)
    elif roll < 0.8:
        kind, months = "fixed_fee", rng.randint(3, 8)
        template = "implementation" if rng.random() < 0.7 else "advisory"
    else:
        kind, template, months = "retainer", "managed_service", rng.randint(6, 12)
    closed_at = at_hour(weekday_on_or_after(day), rng, 13, 22)
    return _Draft(customer, closed_at, kind, template, months,
                  rng.choice(_SERVICES[template]))


_FOREIGN = {"USD": "EUR", "GBP": "USD", "EUR": "USD"}


def _contract_currency(draft: _Draft, number: int, functional: str) -> str:
    """About one time-and-materials deal in five is sold in a foreign currency (a US01
    engagement in EUR, a GB01 or DE01 one in USD): invoices then carry functional amounts at
    the month-end rate, and open receivables are revalued at each close. Chosen by a hash of
    the deal number, so the rest of the plan draws the same random numbers."""
    if draft.billing_type != "time_and_materials" or zlib.crc32(f"OPP-{number}".encode()) % 5:
        return functional
    return _FOREIGN.get(functional, functional)


def _deal(rng: random.Random, ref: ReferenceData, draft: _Draft, number: int,
          approvers: list[str]) -> Deal:
    entity = ref.entity(draft.customer.entity)
    assert entity is not None
    start = monday_on_or_after(draft.closed_at.date() + timedelta(days=rng.randint(3, 14)))
    end = add_months(start, draft.months) - timedelta(days=1)
    contract = f"C-{number}"
    amount: Decimal | None = None
    hours: Decimal | None = None
    milestones: tuple[MilestonePlan, ...] = ()
    team = rng.randint(*_TEAM[draft.template])
    monthly_hours = team * rng.randint(100, 130)
    if draft.billing_type == "time_and_materials":
        hours = Decimal(monthly_hours * draft.months // 50 * 50)
    elif draft.billing_type == "fixed_fee":
        hours = Decimal(monthly_hours * draft.months // 50 * 50)
        fee = hours * _BLENDED_RATE[draft.template]
        amount = max(Decimal(10000), (fee / 5000).to_integral_value() * 5000)
        milestones = _milestones(rng, draft.template, f"MS-{number}", amount, start, end)
    else:
        fee = Decimal(monthly_hours * _BLENDED_RATE[draft.template])
        amount = max(Decimal(5000), (fee / 2500).to_integral_value() * 2500)
    currency = _contract_currency(draft, number, entity.functional_currency)
    rates: tuple[tuple[str, Decimal], ...] = ()
    if rng.random() < 0.4:
        defaults = {r.role: r.rate.amount for r in ref.role_rates
                    if r.rate.currency == currency}
        roles = sorted(rng.sample(sorted(defaults), rng.randint(2, 4)))
        rates = tuple(
            (role, (defaults[role] * (100 - rng.randint(1, 3) * 5) / 100 / 5)
             .to_integral_value() * 5)
            for role in roles
        )
    short = draft.customer.name.split()[0]
    return Deal(
        deal_id=f"OPP-{number}", customer=draft.customer, currency=currency,
        billing_type=draft.billing_type, template=draft.template, closed_at=draft.closed_at,
        start=start, end=end, contract_number=contract, project_code=f"P-{number}",
        project_name=f"{short} {draft.service}",
        payment_terms_days=rng.choice((30, 30, 45, 60)), amount=amount,
        estimated_hours=hours, rates=rates, milestones=milestones,
        approver=rng.choice(approvers) if approvers else "PMO Approvals", team=team,
    )


def _milestones(rng: random.Random, template: str, prefix: str, fee: Decimal,
                start: date, end: date) -> tuple[MilestonePlan, ...]:
    names = _MILESTONES[template]
    n = rng.randint(2, 4)
    chosen = (*names[: n - 1], names[-1])
    weights = [rng.randint(2, 5) for _ in range(n)]
    amounts = [(fee * w / sum(weights)).to_integral_value() for w in weights[:-1]]
    amounts.append(fee - sum(amounts, Decimal(0)))
    days = (end - start).days
    return tuple(
        MilestonePlan(f"{prefix}-{k + 1}", chosen[k], amounts[k],
                      weekday_on_or_after(start + timedelta(days=days * (k + 1) // n))
                      if k + 1 < n else end)
        for k in range(n)
    )


def extra_deal(rng: random.Random, ref: ReferenceData, firm: Firm, customer: Customer,
               day: date, number: int) -> Deal:
    """Another deal for `customer` closing on `day`, drawn like the planned ones."""
    approvers = [w.name for w in firm.workers
                 if w.role in ("partner", "manager") and w.entity == customer.entity]
    return _deal(rng, ref, _draft(rng, customer, day), number, approvers)
