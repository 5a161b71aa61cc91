"""The staffing match of many requests in one pass, with the single path's answer.

``match_many(requests, workers, top)`` indexes the workers once (``StaffingIndex``): over the
requests' weekdays, each worker's capacity and booked hours per weekday as integer arrays
(hours per week × 10^k, exact for quantities of k decimals), their prefix sums, and the
skills, roles, places, cost rates and targets as columns. A request is then a few array
operations over every worker: the tightest free weekday of the window (a minimum over the
window's columns), booked and capacity hours (differences of prefix sums), and the score of
``score.py`` in floating point.

Floating point only chooses whom to score exactly. The exact score differs from the float
one by at most 0.2 (four parts are rounded to 0.1; location and role are exact), so a worker
whose float score is below the top-th best float score less 0.4 cannot be in the top
(``MARGIN``): the others are scored in Decimal by ``score.candidate``, on the same ``Window``
values the day-by-day path counts, and ranked like ``score.match``. Hence
``match_many(rs, ws, top)[i] == match(rs[i], ws, top)``, tests/unit/workforce/test_batch.py
checks it on random firms.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from syncline.domain.staffing.model import FIVE, WEIGHTS, Candidate, Request, Worker, eligible
from syncline.domain.staffing.score import (
    ONE,
    ZERO,
    Window,
    availability_fraction,
    candidate,
    canon,
    cost_fraction,
    location,
    match,
    points,
    skill_fit,
    total,
    utilization,
)

MARGIN = 0.4 + 1e-6  # twice the largest rounding gap of the exact score, and float noise
MAX_DECIMALS = 6  # hours with more decimals than this are matched day by day
_W = {k: float(v) for k, v in WEIGHTS.items()}
I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


def _decimals(x: Decimal) -> int:
    exponent = x.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else MAX_DECIMALS + 1


class StaffingIndex:
    """The workers' calendars over ``first``..``last`` and their facts as columns."""

    def __init__(self, workers: Sequence[Worker], first: date, last: date) -> None:
        self.workers = list(workers)
        n = len(self.workers)
        self.days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        self.days = [d for d in self.days if d.weekday() < 5]
        self.ordinals = [d.toordinal() for d in self.days]
        hours = [w.capacity for w in self.workers] + [
            b.hours_per_week for w in self.workers for b in w.bookings]
        k = max((_decimals(h) for h in hours), default=0)
        self.exact = k <= MAX_DECIMALS
        self.scale = 10 ** min(k, MAX_DECIMALS)
        d = len(self.days)
        cap = np.zeros((n, d), dtype=np.int64)
        diff = np.zeros((n, d + 1), dtype=np.int64)
        for i, w in enumerate(self.workers):
            if not self.exact:
                break
            cap[i, :] = int(w.capacity * self.scale)
            for u in w.unavailable:
                cap[i, self._at(u.start):self._after(u.end)] = 0
            if w.last_day is not None:
                cap[i, self._after(w.last_day):] = 0
            for b in w.bookings:
                lo, hi = self._at(b.span.start), self._after(b.span.end)
                if lo < hi:
                    diff[i, lo] += int(b.hours_per_week * self.scale)
                    diff[i, hi] -= int(b.hours_per_week * self.scale)
        load = np.cumsum(diff[:, :d], axis=1)
        # day-major (weekday × worker): a window is a block of contiguous rows
        self.free: I64 = np.ascontiguousarray(np.maximum(cap - load, 0).T)
        zero = np.zeros((1, n), dtype=np.int64)
        self.cap_sum: I64 = np.vstack([zero, np.cumsum(cap.T, axis=0)])
        self.load_sum: I64 = np.vstack([zero, np.cumsum(load.T, axis=0)])
        self.cost: F64 = np.array([float(w.cost_rate) for w in self.workers], dtype=np.float64)
        self.target: F64 = np.array([float(w.target) for w in self.workers], dtype=np.float64)
        never = date.max.toordinal()
        self.last: I64 = np.array([w.last_day.toordinal() if w.last_day else never
                                   for w in self.workers], dtype=np.int64)
        self._codes: dict[tuple[str, str | None], int] = {}
        self._costs: dict[Decimal | None, F64] = {}
        self._memo: dict[tuple[object, ...], Decimal] = {}
        self._fixed_points: dict[tuple[str | None, ...], F64] = {}
        self.role = self._column([w.role for w in self.workers], "role")
        self.city = self._column([w.city.lower() if w.city else None for w in self.workers],
                                 "city")
        self.country = self._column([w.country for w in self.workers], "country")
        self.zone = self._column([w.time_zone for w in self.workers], "zone")
        self.skills: dict[str, I64] = {}
        for i, w in enumerate(self.workers):
            for skill, level in w.skills.items():
                if skill not in self.skills:
                    self.skills[skill] = np.zeros(n, dtype=np.int64)
                self.skills[skill][i] = level

    def _at(self, day: date) -> int:
        return bisect_left(self.ordinals, day.toordinal())

    def _after(self, day: date) -> int:
        return bisect_right(self.ordinals, day.toordinal())

    def _column(self, values: list[str | None], kind: str) -> I64:
        return np.array([self._code(kind, v) for v in values], dtype=np.int64)

    def _code(self, kind: str, value: str | None) -> int:
        """A small integer per (kind, value); -1 for no value, -2 for a value no worker has."""
        if value is None:
            return -1
        return self._codes.setdefault((kind, value), len(self._codes))

    def _known(self, kind: str, value: str | None) -> int:
        return -1 if value is None else self._codes.get((kind, value), -2)

    def match(self, request: Request, top: int | None = 10) -> list[Candidate]:
        if not self.exact or request.hours_per_week <= 0:
            return match(request, self.workers, top)
        lo, hi = self._at(request.span.start), self._after(request.span.end)
        ok = self.last >= request.span.end.toordinal()
        n = len(self.workers)
        free = self.free[lo:hi].min(axis=0) if hi > lo else np.zeros(n, dtype=np.int64)
        booked = self.load_sum[hi] - self.load_sum[lo]
        capacity = self.cap_sum[hi] - self.cap_sum[lo]
        rough = self._rough(request, hi - lo, free, booked, capacity)
        if top and top < int(ok.sum()):
            kth = np.partition(rough[ok], -top)[-top]
            ok &= rough >= kth - MARGIN
        scored = []
        for i in np.flatnonzero(ok).tolist():
            worker = self.workers[i]
            window = self._window(int(free[i]), int(booked[i]), int(capacity[i]), hi - lo)
            got = self._points(request, worker, window)
            scored.append((-total(got), worker.worker_id, i, window, got))
        scored.sort(key=lambda s: (s[0], s[1]))
        return [candidate(request, self.workers[i], window, points)
                for _, _, i, window, points in (scored[:top] if top else scored)]

    def _points(self, request: Request, worker: Worker, w: Window) -> dict[str, Decimal]:
        """``score.parts``, the parts that repeat across workers and requests memoized."""
        memo = self._memo
        skills = ("skills", tuple(sorted(request.skills.items())),
                  tuple(worker.skills.get(k, 0) for k in sorted(request.skills)))
        if skills not in memo:
            memo[skills] = points("skills", skill_fit(request, worker))
        free = ("availability", w.free_per_week, request.hours_per_week)
        if free not in memo:
            memo[free] = points("availability", availability_fraction(
                w.free_per_week, request.hours_per_week))
        cost = ("cost", request.bill_rate, worker.cost_rate)
        if cost not in memo:
            memo[cost] = points("cost", cost_fraction(request.bill_rate, worker.cost_rate))
        place = ("location", request.city, request.country, request.time_zone, worker.city,
                 worker.country, worker.time_zone)
        if place not in memo:
            memo[place] = points("location", location(request, worker)[0])
        return {"skills": memo[skills], "availability": memo[free], "cost": memo[cost],
                "location": memo[place], "role": points(
                    "role", ONE if worker.role == request.role else ZERO),
                "utilization": points("utilization", utilization(request, worker, w)[2])}

    def _window(self, free: int, booked: int, capacity: int, days: int) -> Window:
        scale, week = Decimal(self.scale), FIVE * self.scale
        return Window(canon(Decimal(free) / scale), canon(Decimal(booked) / week),
                      canon(Decimal(capacity) / week), days)

    def _rough(self, request: Request, days: int, free_scaled: I64, booked_scaled: I64,
               capacity_scaled: I64) -> F64:
        """Every worker's score in floating point (unrounded parts)."""
        n = len(self.workers)
        hours = float(request.hours_per_week)
        if request.skills:
            fit = np.zeros(n)
            for skill, minimum in request.skills.items():
                levels = self.skills.get(skill)
                if levels is not None:
                    fit += np.minimum(levels, minimum) / minimum
            skills = fit / len(request.skills)
        else:
            skills = np.ones(n)
        availability = np.clip(free_scaled / (self.scale * hours), 0.0, 1.0)
        cost = self._cost(request.bill_rate)
        booked = booked_scaled / (5.0 * self.scale)
        capacity = capacity_scaled / (5.0 * self.scale)
        asked = hours / 5 * days
        after = np.divide(booked + asked, capacity, out=np.zeros(n), where=capacity > 0)
        util = np.divide(np.abs(self.target - after), self.target, out=np.ones(n),
                         where=self.target > 0)
        util = np.where(self.target > 0, np.clip(1 - util, 0.0, 1.0), 0.0)
        rough: F64 = (_W["skills"] * skills + _W["availability"] * availability
                      + _W["cost"] * cost + self._fixed(request) + _W["utilization"] * util)
        return rough

    def _cost(self, bill_rate: Decimal | None) -> F64:
        """The cost fraction of every worker against a bill rate (cached per rate)."""
        if bill_rate not in self._costs:
            bill = float(bill_rate) if bill_rate else 0.0
            self._costs[bill_rate] = np.clip((bill - self.cost) / bill, 0.0, 1.0) if bill \
                else np.ones(len(self.workers))
        return self._costs[bill_rate]

    def _fixed(self, request: Request) -> F64:
        """Points for location and role, which depend on the request's place and role only
        (cached per place and role)."""
        key = (request.city.lower() if request.city else None, request.country,
               request.time_zone, request.role)
        if key not in self._fixed_points:
            self._fixed_points[key] = (_W["location"] * self._location(request)
                                       + _W["role"] * (self.role == self._known(
                                           "role", request.role)))
        return self._fixed_points[key]

    def _location(self, request: Request) -> F64:
        n = len(self.workers)
        if not (request.city or request.country or request.time_zone):
            return np.ones(n)
        city = self._known("city", request.city.lower() if request.city else None)
        country = self._known("country", request.country)
        zone = self._known("zone", request.time_zone)
        same_city = (self.city == city) & (city >= 0) if request.city else np.zeros(n, bool)
        same_country = (self.country == country) & (country >= 0) if request.country \
            else np.zeros(n, bool)
        same_zone = (self.zone == zone) & (zone >= 0) if request.time_zone \
            else np.zeros(n, bool)
        whole_country = same_country if not request.city else np.zeros(n, bool)
        return np.where(same_city | whole_country, 1.0,
                        np.where(same_country | same_zone, 0.5, 0.0))


def match_many(requests: Sequence[Request], workers: Sequence[Worker], top: int | None = 10
               ) -> list[list[Candidate]]:
    """Each request's candidates (``match(request, workers, top)``), the workers indexed
    once over the requests' days."""
    if not requests:
        return []
    index = StaffingIndex(workers, min(r.span.start for r in requests),
                          max(r.span.end for r in requests))
    return [index.match(r, top) for r in requests]


__all__ = ["MARGIN", "StaffingIndex", "eligible", "match_many"]
