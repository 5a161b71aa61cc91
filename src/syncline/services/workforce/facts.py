"""What the firm knows of its people as of a date, read into domain/staffing values.

The version of a worker's cost rate and HR facts that applies on a date is the one with the
latest ``effective_date`` on or before it (then the highest sequence); before the first
effective date, the first version applies. Unavailability is the latest version's list (the
HRIS sends the whole list each time). A worker without HR facts has the default capacity
(40 h/wk) and target (80%). Bookings are the worker's confirmed assignments.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import worker_versions, workers
from syncline.adapters.db.workforce_tables import assignments, resource_requests, worker_profiles
from syncline.domain.staffing import (
    DEFAULT_CAPACITY,
    DEFAULT_TARGET,
    Booking,
    Request,
    Span,
    Worker,
)


def span(start: str, end: str) -> Span:
    return Span(date.fromisoformat(start), date.fromisoformat(end))


def as_of(versions: Iterable[Any], on: date) -> Any | None:
    """The version effective on ``on`` (latest effective date ≤ on, then highest sequence);
    the earliest when none is yet effective."""
    ordered = sorted(versions, key=lambda v: (v.effective_date, v.sequence))
    if not ordered:
        return None
    applicable = [v for v in ordered if v.effective_date <= on.isoformat()]
    return applicable[-1] if applicable else ordered[0]


def bookings(conn: Connection, worker_ids: Iterable[str] | None = None
             ) -> dict[str, list[Booking]]:
    q = select(assignments).where(assignments.c.status == "confirmed")
    if worker_ids is not None:
        q = q.where(assignments.c.worker_id.in_(list(worker_ids)))
    out: dict[str, list[Booking]] = defaultdict(list)
    for a in conn.execute(q):
        out[a.worker_id].append(Booking(a.hours_per_week, span(a.start_date, a.end_date)))
    return out


class Facts:
    """The rows of every worker's versions, HR facts and bookings, read once; ``as_of``
    builds the workers as the matcher sees them on a date."""

    def __init__(self, conn: Connection, worker_ids: Iterable[str] | None = None) -> None:
        wanted = None if worker_ids is None else list(worker_ids)
        q = select(workers).order_by(workers.c.worker_id)
        vq, pq = select(worker_versions), select(worker_profiles)
        if wanted is not None:
            q = q.where(workers.c.worker_id.in_(wanted))
            vq = vq.where(worker_versions.c.worker_id.in_(wanted))
            pq = pq.where(worker_profiles.c.worker_id.in_(wanted))
        self.versions: dict[str, list[Any]] = defaultdict(list)
        for v in conn.execute(vq):
            self.versions[v.worker_id].append(v)
        self.profiles: dict[str, list[Any]] = defaultdict(list)
        for p in conn.execute(pq):
            self.profiles[p.worker_id].append(p)
        self.booked = bookings(conn, wanted)
        self.rows = conn.execute(q).all()
        self.changes = sorted({date.fromisoformat(v.effective_date) for vs in (
            *self.versions.values(), *self.profiles.values()) for v in vs})

    def same_between(self, earlier: date, later: date) -> bool:
        """True when no version takes effect after ``earlier`` up to ``later``: the workers
        as of both dates are the same."""
        return not any(earlier < d <= later for d in self.changes)

    def as_of(self, on: date) -> list[Worker]:
        return [self._worker(w, on) for w in self.rows]

    def _worker(self, w: Any, on: date) -> Worker:
        version = as_of(self.versions[w.worker_id], on)
        profile = as_of(self.profiles[w.worker_id], on)
        latest = max(self.profiles[w.worker_id], key=lambda p: p.sequence, default=None)
        return Worker(
            worker_id=w.worker_id, name=w.name, role=version.role if version else w.role,
            cost_rate=version.cost_rate if version else Decimal(0),
            skills={s["skill"]: int(s["level"]) for s in json.loads(profile.skills)}
            if profile else {},
            city=profile.city if profile else None,
            country=profile.country if profile else None,
            time_zone=profile.time_zone if profile else None,
            capacity=profile.capacity_hours if profile and profile.capacity_hours is not None
            else DEFAULT_CAPACITY,
            target=profile.target_utilization
            if profile and profile.target_utilization is not None else DEFAULT_TARGET,
            unavailable=tuple(span(u["start_date"], u["end_date"])
                              for u in json.loads(latest.unavailability)) if latest else (),
            bookings=tuple(self.booked.get(w.worker_id, ())),
            last_day=date.fromisoformat(w.termination_date) if w.termination_date else None)


def workers_as_of(conn: Connection, on: date, worker_ids: Iterable[str] | None = None
                  ) -> list[Worker]:
    """Every worker (or those named) as the staffing matcher sees them on ``on``."""
    return Facts(conn, worker_ids).as_of(on)


def request_of(row: Any) -> Request:
    location = json.loads(row.location)
    return Request(
        request_id=row.request_id, role=row.role, hours_per_week=row.hours_per_week,
        span=span(row.start_date, row.end_date),
        skills={s["skill"]: int(s["min_level"]) for s in json.loads(row.skills)},
        city=location.get("city"), country=location.get("country"),
        time_zone=location.get("time_zone"),
        bill_rate=row.bill_rate if row.billable else None)


def get_request(conn: Connection, request_id: str) -> Any | None:
    return conn.execute(select(resource_requests).where(
        resource_requests.c.request_id == request_id)).first()
