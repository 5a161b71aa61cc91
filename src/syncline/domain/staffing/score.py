"""The score of a worker for a resource request, out of 100, and its reasons in words.

The score is the sum of six parts, each a fraction of its weight (``WEIGHTS``) rounded to 0.1
(half even):

- skills (35): per required skill min(level, minimum) / minimum, averaged (1 without skills);
- availability (30): the free hours per week in the tightest weekday of the window (capacity
  minus assigned hours, leave counted) against the hours asked, capped at 1;
- cost (15): the margin (bill rate − cost rate) / bill rate, clamped to 0..1; 1 when the
  request has no rate (non-billable work is not ranked on cost);
- location (10): 1 same city or no constraint, 0.5 same country or time zone, 0 otherwise;
- role (5): 1 when the worker's role is the role asked;
- utilization (5): 1 − |target − utilization with this assignment| / target, clamped to 0..1.

Ties go to the lower worker id. Each candidate carries its reasons in words, the way a
staffing meeting says them.

What the score needs of the calendar is a ``Window``: the free hours per week, the hours
booked and the capacity over the request's weekdays. ``window_of`` counts them day by day
(the reference); the batch path (``batch.py``) counts them from arrays, and both hand them
to the same ``candidate``, so the two paths give the same scores and reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from syncline.domain.staffing.model import (
    FIVE,
    WEIGHTS,
    Candidate,
    Request,
    Worker,
    capacity_on,
    eligible,
    load_on,
)

ZERO, ONE, TENTH = Decimal(0), Decimal(1), Decimal("0.1")


def canon(x: Decimal) -> Decimal:
    """One way to write a quantity of hours: an integer without decimals, else no trailing
    zero (so the same value always prints and divides the same, whichever path counted it)."""
    return x.quantize(ONE) if x == x.to_integral_value() else x.normalize()


@dataclass(frozen=True, slots=True)
class Window:
    """A worker's calendar over a request's window, in hours (canonical, see ``canon``)."""

    free_per_week: Decimal  # the tightest weekday's free hours (capacity − booked, ≥ 0) × 5
    booked: Decimal  # hours already assigned on the window's weekdays
    capacity: Decimal  # capacity hours on the window's weekdays
    weekdays: int


def window_of(request: Request, worker: Worker) -> Window:
    """The worker's window, counted day by day."""
    days = request.span.weekdays()
    capacity = [capacity_on(worker, d) for d in days]
    load = [load_on(worker.bookings, d) for d in days]
    free = min((max(c - x, ZERO) for c, x in zip(capacity, load, strict=True)),
               default=ZERO) * FIVE
    return Window(canon(free), canon(sum(load, ZERO)), canon(sum(capacity, ZERO)), len(days))


def _clamp(x: Decimal) -> Decimal:
    return max(ZERO, min(ONE, x))


@lru_cache(maxsize=8192)  # the text depends on the value only (Decimal('20.0') == 20)
def _pct(x: Decimal) -> str:
    return f"{(x * 100).quantize(ONE)}%"


@lru_cache(maxsize=8192)
def _num(x: Decimal) -> str:
    return f"{x.normalize():f}" if x == x.to_integral() else f"{x.quantize(TENTH)}"


def skill_fit(request: Request, worker: Worker) -> Decimal:
    fits = [Decimal(min(worker.skills.get(skill, 0), minimum)) / Decimal(minimum)
            for skill, minimum in sorted(request.skills.items())]
    return sum(fits, ZERO) / len(fits) if fits else ONE


def utilization(request: Request, worker: Worker, w: Window
                ) -> tuple[Decimal, Decimal, Decimal]:
    """(utilization before, after this assignment, the fraction scored)."""
    asked = request.hours_per_week / FIVE * w.weekdays
    before = w.booked / w.capacity if w.capacity else ZERO
    after = (w.booked + asked) / w.capacity if w.capacity else ZERO
    scored = _clamp(1 - abs(worker.target - after) / worker.target) if worker.target else ZERO
    return before, after, scored


def points(part: str, fraction: Decimal) -> Decimal:
    """A part's points: its weight × the fraction, to 0.1 half even."""
    return (WEIGHTS[part] * fraction).quantize(TENTH)


def availability_fraction(free_per_week: Decimal, hours_per_week: Decimal) -> Decimal:
    return _clamp(free_per_week / hours_per_week)


def cost_fraction(bill_rate: Decimal | None, cost_rate: Decimal) -> Decimal:
    return _clamp((bill_rate - cost_rate) / bill_rate) if bill_rate else ONE


def parts(request: Request, worker: Worker, w: Window) -> dict[str, Decimal]:
    """Each part's points (weight × fraction, to 0.1 half even)."""
    return {"skills": points("skills", skill_fit(request, worker)),
            "availability": points("availability", availability_fraction(
                w.free_per_week, request.hours_per_week)),
            "cost": points("cost", cost_fraction(request.bill_rate, worker.cost_rate)),
            "location": points("location", location(request, worker)[0]),
            "role": points("role", ONE if worker.role == request.role else ZERO),
            "utilization": points("utilization", utilization(request, worker, w)[2])}


def total(points: dict[str, Decimal]) -> Decimal:
    return sum(points.values(), ZERO)


def candidate(request: Request, worker: Worker, w: Window,
              points: dict[str, Decimal] | None = None) -> Candidate:
    """The worker as a candidate: score, parts and reasons."""
    points = points if points is not None else parts(request, worker, w)
    reasons = [f"{skill} {worker.skills.get(skill, 0)}/{minimum} "
               f"{'✓' if worker.skills.get(skill, 0) >= minimum else '✗'}"
               for skill, minimum in sorted(request.skills.items())]
    away = [u for u in worker.unavailable
            if u.start <= request.span.end and u.end >= request.span.start]
    reasons.append(f"{_num(w.free_per_week)} of {_num(request.hours_per_week)} h/wk free "
                   "over the window" + "".join(f" (away {u.start} to {u.end})" for u in away))
    reasons.append(f"cost {_num(worker.cost_rate)} vs rate {_num(request.bill_rate)}"
                   if request.bill_rate else f"cost {_num(worker.cost_rate)}, no bill rate")
    reasons.append(location(request, worker)[1])
    if worker.role != request.role:
        reasons.append(f"role {worker.role}, not {request.role}")
    before, after, _ = utilization(request, worker, w)
    reasons.append(f"{_pct(before)} → {_pct(after)} (target {_pct(worker.target)})")
    return Candidate(worker.worker_id, worker.name, total(points), points, tuple(reasons),
                     w.free_per_week, before, after)


def location(request: Request, worker: Worker) -> tuple[Decimal, str]:
    if not (request.city or request.country or request.time_zone):
        return ONE, "no location constraint"
    if request.city and worker.city and request.city.lower() == worker.city.lower():
        return ONE, "same city"
    if request.country and worker.country == request.country and not request.city:
        return ONE, "same country"
    if request.country and worker.country == request.country:
        return Decimal("0.5"), f"same country ({worker.city or worker.country})"
    if request.time_zone and worker.time_zone == request.time_zone:
        return Decimal("0.5"), f"same time zone ({worker.time_zone})"
    return ZERO, f"elsewhere ({worker.city or worker.country or 'location unknown'})"


def score(request: Request, worker: Worker) -> Candidate:
    """One worker for one request, counted day by day."""
    return candidate(request, worker, window_of(request, worker))


def rank(candidates: list[Candidate], top: int | None) -> list[Candidate]:
    ranked = sorted(candidates, key=lambda c: (-c.score, c.worker_id))
    return ranked[:top] if top else ranked


def match(request: Request, workers: Sequence[Worker], top: int | None = None
          ) -> list[Candidate]:
    """Eligible workers, best score first (ties: lower worker id): the single path, day by
    day. ``batch.match_many`` gives the same answer for many requests at once."""
    return rank([score(request, w) for w in workers if eligible(request, w)], top)
