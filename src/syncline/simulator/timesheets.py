"""Staffing and weekly timesheets, approvals and the odd rejection; milestone acceptances.

Each week every active worker keeps the engagements they are on (while those run), joins one
when they have none, and sometimes a second. Workers staff their own legal entity's
engagements, except a few "mobile" consultants (about one senior consultant or consultant in
six, chosen by a stable hash of the worker id) who also take free seats on other entities'
engagements — a GB01 consultant on a US01 project — which the close charges intercompany.
Every working day they book 6 to 9 hours in quarter hours split across their engagements, on
a task that follows the project's phase. The engagement manager approves the week's sheet on
Friday evening or Monday morning.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from syncline.domain.reference import ReferenceData
from syncline.simulator.envelope import at_hour, weekday_on_or_after, window_end
from syncline.simulator.firm import Deal, Firm, Worker
from syncline.simulator.model import SimulationConfig

_QUARTER = Decimal("0.25")
_MOBILE_ROLES = ("senior_consultant", "consultant")
_REJECTION_REASONS = (
    "Booked to the wrong project",
    "Duplicate of another entry",
    "Hours exceed the agreed estimate for the week",
    "Client disputed the hours",
    "Wrong task code",
)


@dataclass(frozen=True)
class TimeEntry:
    entry_id: str
    worker: Worker
    deal: Deal
    task_code: str
    billable: bool
    work_date: date
    hours: Decimal
    approved_at: datetime


@dataclass(frozen=True)
class Rejection:
    entry: TimeEntry
    at: datetime
    reason: str


@dataclass(frozen=True)
class Acceptance:
    deal: Deal
    milestone_id: str
    completed_on: date
    at: datetime


@dataclass(frozen=True)
class Timesheets:
    entries: tuple[TimeEntry, ...]
    rejections: tuple[Rejection, ...]


def plan_time(config: SimulationConfig, rng: random.Random, firm: Firm,
              ref: ReferenceData) -> Timesheets:
    end = window_end(config)
    last_day = {t.worker_id: t.last_day for t in firm.terminations}
    assigned: dict[str, list[Deal]] = {w.worker_id: [] for w in firm.workers}
    entries: list[TimeEntry] = []
    rejections: list[Rejection] = []
    monday = config.start - timedelta(days=config.start.weekday())
    while monday < end:
        friday = monday + timedelta(days=4)
        days = [monday + timedelta(days=k) for k in range(5)
                if config.start <= monday + timedelta(days=k) < end]
        open_deals = [d for d in firm.deals if any(d.open_on(day) for day in days)]
        for worker in rng.sample(firm.workers, len(firm.workers)):
            leaving = last_day.get(worker.worker_id)
            work_days = [d for d in days if leaving is None or d <= leaving]
            staffed = _staff(rng, worker, assigned, open_deals)
            if not work_days or not staffed:
                continue
            # One approval instant per engagement's weekly sheet.
            approval = {d.deal_id: friday_or_monday(rng, friday) for d in staffed}
            for day in work_days:
                if rng.random() < 0.04:  # a day off
                    continue
                on = [d for d in staffed if d.open_on(day)]
                for deal, q in zip(on, _split(rng, rng.randint(24, 36), len(on)), strict=True):
                    task, billable = _task(rng, ref, deal, day)
                    entry = TimeEntry(f"TE-{100001 + len(entries)}", worker, deal, task,
                                      billable, day, Decimal(q) * _QUARTER,
                                      approval[deal.deal_id])
                    entries.append(entry)
                    if rng.random() < 0.02:
                        later = entry.approved_at.date() + timedelta(days=rng.randint(2, 6))
                        rejections.append(Rejection(
                            entry, at_hour(weekday_on_or_after(later), rng, 9, 17),
                            rng.choice(_REJECTION_REASONS)))
        monday += timedelta(days=7)
    return Timesheets(tuple(entries), tuple(rejections))


def friday_or_monday(rng: random.Random, friday: date) -> datetime:
    """Sheets are approved Friday evening, or (a quarter of them) the next Monday morning."""
    if rng.random() < 0.75:
        return at_hour(friday, rng, 17, 21)
    return at_hour(friday + timedelta(days=3), rng, 8, 11)


def _staff(rng: random.Random, worker: Worker, assigned: dict[str, list[Deal]],
           open_deals: list[Deal]) -> list[Deal]:
    """Keep the engagements still running; join one (or a second) that has a free seat."""
    mine = [d for d in assigned[worker.worker_id] if d in open_deals]
    if len(mine) == 2 and rng.random() < 0.05:
        mine.pop(rng.randrange(2))
    want = 1 if not mine else (2 if rng.random() < _second_chance(worker.role) else len(mine))
    if len(mine) < want:
        seats = {d.deal_id: d.team for d in open_deals
                 if d.customer.entity == worker.entity or _mobile(worker)}
        for other, deals in assigned.items():
            for d in deals:
                if other != worker.worker_id and d.deal_id in seats:
                    seats[d.deal_id] -= 1
        free = [d for d in open_deals if seats.get(d.deal_id, 0) > 0 and d not in mine]
        while len(mine) < want and free:
            pick = rng.choices(free, [seats[d.deal_id] for d in free])[0]
            free.remove(pick)
            mine.append(pick)
    assigned[worker.worker_id] = mine
    return mine


def _mobile(worker: Worker) -> bool:
    """Staffed across legal entities too (deterministic: no random draw, so the rest of the
    plan is drawn exactly as before for everyone else)."""
    return worker.role in _MOBILE_ROLES and zlib.crc32(worker.worker_id.encode()) % 6 == 0


def _second_chance(role: str) -> float:
    return {"partner": 0.5, "manager": 0.3}.get(role, 0.08)


def _split(rng: random.Random, quarters: int, parts: int) -> list[int]:
    if parts <= 1:
        return [quarters][:parts]
    first = rng.randint(4, quarters - 4)
    return [first, quarters - first]


def _task(rng: random.Random, ref: ReferenceData, deal: Deal, day: date) -> tuple[str, bool]:
    template = ref.template(deal.template)
    assert template is not None
    if rng.random() < 0.04:
        internal = next(t for t in template.tasks if not t.billable)
        return internal.code, False
    billable = [t for t in template.tasks if t.billable]
    progress = (day - deal.start).days / max(1, (deal.end - deal.start).days)
    index = min(len(billable) - 1, int(progress * len(billable)))
    if rng.random() < 0.25:
        index = max(0, min(len(billable) - 1, index + rng.choice((-1, 1))))
    return billable[index].code, True


def plan_acceptances(config: SimulationConfig, rng: random.Random,
                     firm: Firm) -> tuple[Acceptance, ...]:
    """Customers accept fixed-fee milestones on or near their due dates, within the period."""
    end = window_end(config)
    out = []
    for deal in firm.deals:
        previous = deal.closed_at.date()
        for m in deal.milestones:
            day = weekday_on_or_after(m.due + timedelta(days=rng.randint(-3, 5)))
            day = max(day, previous + timedelta(days=1))
            if day >= end:
                break
            out.append(Acceptance(deal, m.milestone_id, day, at_hour(day, rng, 14, 21)))
            previous = day
    return tuple(out)
