"""Staffing values (pure, no I/O): windows, bookings, workers, requests, candidates, and the
capacity and load of a worker on a weekday.

The calendar unit is the weekday. A worker's capacity on a weekday is a fifth of their
standard hours per week (0 on a day of leave or other unavailability, or after a last day);
an assignment loads a fifth of its hours per week on each weekday of its window. A worker is
over capacity on a day when the load exceeds the capacity; ``overload`` names those days.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def eligible(request: Request, worker: Worker) -> bool:
    """A worker who has left before the request ends is not a candidate."""
    return worker.last_day is None or worker.last_day >= request.span.end


