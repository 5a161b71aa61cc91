"""Events of resource planning for tests: a worker with HR facts, a resource request, an
assignment (shapes of schemas/events/v1/worker.upserted, resource.requested,
assignment.confirmed)."""

from __future__ import annotations

from itertools import count
from typing import Any

from tests.builders import event, worker

_ids = count(1)


def person(worker_id: str, *, name: str = "Ada Lovelace", role: str = "consultant",
           cost: str = "80.00", skills: dict[str, int] | None = None, city: str = "Boston",
           country: str = "US", capacity: str | None = "40", target: str | None = "0.80",
           leave: list[tuple[str, str]] | None = None, sequence: int = 1,
           effective: str = "2025-01-01") -> dict[str, Any]:
    message = worker(worker_id, role=role, cost=cost, sequence=sequence, effective=effective)
    data = message["data"]
    data["name"] = name
    data["skills"] = [{"skill": k, "level": v} for k, v in (skills or {}).items()]
    data["location"] = {"city": city, "country": country, "time_zone": "America/New_York"}
    data["cost_center"] = "CC-100"
    if capacity is not None:
        data["capacity_hours_per_week"] = capacity
    if target is not None:
        data["target_utilization"] = target
    data["unavailability"] = [{"start_date": a, "end_date": b, "kind": "leave"}
                              for a, b in leave or []]
    return message


def request(request_id: str = "RR-1", *, project: str = "P-1", role: str = "consultant",
            hours: str = "20", start: str = "2026-02-02", end: str = "2026-02-27",
            skills: dict[str, int] | None = None, city: str | None = "Boston",
            billable: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "request_id": request_id, "project_code": project, "role": role,
        "skills": [{"skill": k, "min_level": v} for k, v in (skills or {}).items()],
        "hours_per_week": hours, "start_date": start, "end_date": end, "billable": billable}
    if city:
        data["location"] = {"city": city}
    return event("resource.requested", f"resource_request/{request_id}", data,
                 source="psa/kantata")


def assignment(assignment_id: str, worker_id: str, *, request_id: str = "RR-1",
               hours: str = "20", start: str = "2026-02-02", end: str = "2026-02-27"
               ) -> dict[str, Any]:
    return event("assignment.confirmed", f"assignment/{assignment_id}", {
        "assignment_id": assignment_id, "request_id": request_id, "worker_id": worker_id,
        "hours_per_week": hours, "start_date": start, "end_date": end},
        source="psa/kantata", id_=f"asg-{assignment_id}-{next(_ids)}")
