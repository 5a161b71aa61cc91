"""Staffing, pure (no I/O): capacity, load and the ranked match of a resource request.

The calendar unit is the weekday. A worker's capacity on a weekday is a fifth of their
standard hours per week (0 on a day of leave or other unavailability); an assignment loads a
fifth of its hours per week on each weekday of its window. A worker is over capacity on a day
when the load exceeds the capacity; ``overload`` names those days.

The match ranks candidates by a score out of 100, the sum of six parts, each a fraction of
its weight (``WEIGHTS``):

- skills (35): per required skill min(level, minimum) / minimum, averaged (1 without skills);
- availability (30): the free hours per week in the tightest week-day of the window (capacity
  minus assigned hours, leave counted) against the hours asked, capped at 1;
- cost (15): the margin (bill rate − cost rate) / bill rate, clamped to 0..1; 1 when the
  request has no rate (non-billable work is not ranked on cost);
- location (10): 1 same city or no constraint, 0.5 same country or time zone, 0 otherwise;
- role (5): 1 when the worker's role is the role asked;
- utilization (5): 1 − |target − utilization with this assignment| / target, clamped to 0..1.

Ties go to the lower worker id. Each candidate carries its reasons in words, the way a
staffing meeting says them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

DEFAULT_CAPACITY = Decimal("40")
DEFAULT_TARGET = Decimal("0.80")
WEIGHTS = {"skills": Decimal(35), "availability": Decimal(30), "cost": Decimal(15),
           "location": Decimal(10), "role": Decimal(5), "utilization": Decimal(5)}
FIVE = Decimal(5)


@dataclass(frozen=True, slots=True)
class Span:
    """A window of whole days, both ends included."""

    start: date
    end: date

    def weekdays(self) -> list[date]:
        days, day = [], self.start
        while day <= self.end:
            if day.weekday() < 5:
                days.append(day)
            day += timedelta(days=1)
        return days

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Booking:
    """Hours per week over a window (an assignment)."""

    hours_per_week: Decimal
    span: Span


@dataclass(frozen=True, slots=True)
class Worker:
    """What the matcher knows of a person: HR facts as of the request's start."""

    worker_id: str
    name: str
    role: str
    cost_rate: Decimal
    skills: dict[str, int] = field(default_factory=dict)
    city: str | None = None
    country: str | None = None
    time_zone: str | None = None
    capacity: Decimal = DEFAULT_CAPACITY  # hours per week
    target: Decimal = DEFAULT_TARGET
    unavailable: tuple[Span, ...] = ()
    bookings: tuple[Booking, ...] = ()
    last_day: date | None = None


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    role: str
    hours_per_week: Decimal
    span: Span
    skills: dict[str, int] = field(default_factory=dict)  # skill → minimum level
    city: str | None = None
    country: str | None = None
    time_zone: str | None = None
    bill_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    worker_id: str
    name: str
    score: Decimal
    parts: dict[str, Decimal]  # each part's points
    reasons: tuple[str, ...]
    free_per_week: Decimal
    utilization_before: Decimal
    utilization_after: Decimal

    def summary(self) -> str:
        return f"{self.name}: " + ", ".join(self.reasons)


def capacity_on(worker: Worker, day: date) -> Decimal:
    if day.weekday() >= 5 or any(s.covers(day) for s in worker.unavailable):
        return Decimal(0)
    if worker.last_day is not None and day > worker.last_day:
        return Decimal(0)
    return worker.capacity / FIVE


def load_on(bookings: Iterable[Booking], day: date) -> Decimal:
    if day.weekday() >= 5:
        return Decimal(0)
    return sum((b.hours_per_week / FIVE for b in bookings if b.span.covers(day)), Decimal(0))


def overload(worker: Worker, extra: Booking) -> list[date]:
    """The weekdays of ``extra`` on which the worker's bookings plus ``extra`` exceed capacity."""
    everything = (*worker.bookings, extra)
    return [d for d in extra.span.weekdays() if load_on(everything, d) > capacity_on(worker, d)]


def _clamp(x: Decimal) -> Decimal:
    return max(Decimal(0), min(Decimal(1), x))


def _pct(x: Decimal) -> str:
    return f"{(x * 100).quantize(Decimal(1))}%"


def _num(x: Decimal) -> str:
    return f"{x.normalize():f}" if x == x.to_integral() else f"{x.quantize(Decimal('0.1'))}"


def score(request: Request, worker: Worker) -> Candidate:
    days = request.span.weekdays()
    reasons: list[str] = []
    fits: list[Decimal] = []
    for skill, minimum in sorted(request.skills.items()):
        level = worker.skills.get(skill, 0)
        fits.append(Decimal(min(level, minimum)) / Decimal(minimum))
        reasons.append(f"{skill} {level}/{minimum} {'✓' if level >= minimum else '✗'}")
    skills = sum(fits, Decimal(0)) / len(fits) if fits else Decimal(1)

    capacity = [capacity_on(worker, d) for d in days]
    load = [load_on(worker.bookings, d) for d in days]
    free = min((max(c - x, Decimal(0)) for c, x in zip(capacity, load, strict=True)),
               default=Decimal(0)) * FIVE
    availability = _clamp(free / request.hours_per_week)
    away = [u for u in worker.unavailable
            if u.start <= request.span.end and u.end >= request.span.start]
    reasons.append(f"{_num(free)} of {_num(request.hours_per_week)} h/wk free over the window"
                   + "".join(f" (away {u.start} to {u.end})" for u in away))

    if request.bill_rate:
        cost = _clamp((request.bill_rate - worker.cost_rate) / request.bill_rate)
        reasons.append(f"cost {_num(worker.cost_rate)} vs rate {_num(request.bill_rate)}")
    else:
        cost = Decimal(1)
        reasons.append(f"cost {_num(worker.cost_rate)}, no bill rate")

    location, where = _location(request, worker)
    reasons.append(where)
    role = Decimal(1) if worker.role == request.role else Decimal(0)
    if not role:
        reasons.append(f"role {worker.role}, not {request.role}")

    total_capacity = sum(capacity, Decimal(0))
    booked = sum(load, Decimal(0))
    asked = request.hours_per_week / FIVE * len(days)
    before = booked / total_capacity if total_capacity else Decimal(0)
    after = (booked + asked) / total_capacity if total_capacity else Decimal(0)
    utilization = _clamp(1 - abs(worker.target - after) / worker.target) if worker.target else \
        Decimal(0)
    reasons.append(f"{_pct(before)} → {_pct(after)} (target {_pct(worker.target)})")

    fractions = {"skills": skills, "availability": availability, "cost": cost,
                 "location": location, "role": role, "utilization": utilization}
    parts = {k: (WEIGHTS[k] * v).quantize(Decimal("0.1")) for k, v in fractions.items()}
    return Candidate(worker.worker_id, worker.name, sum(parts.values(), Decimal(0)), parts,
                     tuple(reasons), free, before, after)


def _location(request: Request, worker: Worker) -> tuple[Decimal, str]:
    if not (request.city or request.country or request.time_zone):
        return Decimal(1), "no location constraint"
    if request.city and worker.city and request.city.lower() == worker.city.lower():
        return Decimal(1), "same city"
    if request.country and worker.country == request.country and not request.city:
        return Decimal(1), "same country"
    if request.country and worker.country == request.country:
        return Decimal("0.5"), f"same country ({worker.city or worker.country})"
    if request.time_zone and worker.time_zone == request.time_zone:
        return Decimal("0.5"), f"same time zone ({worker.time_zone})"
    return Decimal(0), f"elsewhere ({worker.city or worker.country or 'location unknown'})"


def eligible(request: Request, worker: Worker) -> bool:
    """A worker who has left before the request ends is not a candidate."""
    return worker.last_day is None or worker.last_day >= request.span.end


def match(request: Request, workers: Sequence[Worker], top: int | None = None
          ) -> list[Candidate]:
    """Eligible workers, best score first (ties: lower worker id)."""
    ranked = sorted((score(request, w) for w in workers if eligible(request, w)),
                    key=lambda c: (-c.score, c.worker_id))
    return ranked[:top] if top else ranked
