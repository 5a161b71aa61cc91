"""resource.requested and assignment.confirmed; the HR facts of worker.upserted; assignments
of a worker who leaves.

- A request is stored (parked until its project is known). Its bill rate is the contract's
  rate for the role, else the request's own; a non-billable request has none. A required
  skill no worker has raises a low-severity PMO exception (the request is kept).
- An assignment needs its request and its worker (parked until both are known). A worker who
  has left before the assignment ends, or an assignment that would put the worker's planned
  hours above capacity on any weekday (domain/staffing.overload), is refused with an
  exception, unless an approved ``over_allocation`` approval names the assignment
  (services/workforce/overallocation.py; replaying the message then applies it).
- A termination flags each assignment running past the last day, one PMO exception each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from syncline.adapters.db.governance_tables import approval_requests
from syncline.adapters.db.tables import contract_rates, projects
from syncline.adapters.db.workforce_tables import assignments, resource_requests, worker_profiles
from syncline.domain.errors import BusinessDomain, Missing, Problem, Severity
from syncline.domain.staffing import Booking, overload
from syncline.services.messaging.bulk import insert_rows
from syncline.services.messaging.exceptions import raise_exception
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch
from syncline.services.workforce.facts import get_request, span, workers_as_of

HR_FACTS = ("skills", "certifications", "location", "cost_center", "capacity_hours_per_week",
            "target_utilization", "unavailability")


def record_profile(b: Batch, data: Mapping[str, Any], seq: int) -> None:
    """Store the HR facts of a worker version that states any (once per version). A bare
    skill code counts as level 1; a location string is the city."""
    if not any(k in data for k in HR_FACTS):
        return
    where = data.get("location") or {}
    if isinstance(where, str):  # an HRIS location descriptor: the city or site
        where = {"city": where}
    skills = [s if isinstance(s, Mapping) else {"skill": s, "level": 1}
              for s in data.get("skills", [])]
    insert_rows(b.conn, worker_profiles, [dict(
        worker_id=data["worker_id"], sequence=seq, effective_date=data["effective_date"],
        skills=json.dumps(skills, sort_keys=True),
        certifications=json.dumps(data.get("certifications", [])),
        city=where.get("city"), country=where.get("country"), time_zone=where.get("time_zone"),
        cost_center=data.get("cost_center"),
        capacity_hours=data.get("capacity_hours_per_week"),
        target_utilization=data.get("target_utilization"),
        unavailability=json.dumps(data.get("unavailability", []), sort_keys=True))])


def request_resource(b: Batch, data: Mapping[str, Any]) -> Outcome:
    request_id = data["request_id"]
    if get_request(b.conn, request_id) is not None:
        return Applied(note=f"resource request {request_id} already recorded")
    project = b.conn.execute(select(projects.c.contract_id).where(
        projects.c.code == data["project_code"])).first()
    if project is None:
        return Parked(Missing(f"project:{data['project_code']}",
                              f"project {data['project_code']} not provisioned yet"))
    billable = data.get("billable", True)
    rate = b.conn.execute(select(contract_rates.c.rate, contract_rates.c.currency).where(
        (contract_rates.c.contract_id == project.contract_id)
        & (contract_rates.c.role == data["role"]))).first()
    own = data.get("bill_rate")
    bill = (rate.rate, rate.currency) if rate else (
        (Decimal(own["amount"]), own["currency"]) if own else (None, None))
    insert_rows(b.conn, resource_requests, [dict(
        request_id=request_id, project_code=data["project_code"], role=data["role"],
        skills=json.dumps(data.get("skills", []), sort_keys=True),
        hours_per_week=data["hours_per_week"], start_date=data["start_date"],
        end_date=data["end_date"], location=json.dumps(data.get("location", {}), sort_keys=True),
        billable=billable, bill_rate=bill[0] if billable else None,
        currency=bill[1] if billable else None, status="open", inbox_id=b.inbox_id)])
    known = set()
    for p in b.conn.execute(select(worker_profiles.c.skills)):
        known |= {s["skill"] for s in json.loads(p.skills)}
    for skill in [s["skill"] for s in data.get("skills", []) if s["skill"] not in known]:
        raise_exception(b.conn, Problem(
            "staffing.unknown_skill", BusinessDomain.PMO,
            f"resource request {request_id} asks for skill {skill!r}, which no worker has",
            "Check the skill's spelling in the PSA request, or have HR record it on the "
            "workers who have it; the request is kept and can be matched meanwhile.",
            "data.skills", Severity.LOW, (("resource_request", request_id),)),
            now=b.now, inbox_id=b.inbox_id, correlation_id=b.correlation_id)
    return Applied(provides=(f"resource_request:{request_id}",))


def _approval(b: Batch, assignment_id: str) -> str | None:
    row = b.conn.execute(select(approval_requests.c.id).where(
        (approval_requests.c.kind == "over_allocation")
        & (approval_requests.c.subject == f"assignment/{assignment_id}")
        & (approval_requests.c.status == "approved"))).first()
    return row.id if row else None


def confirm_assignment(b: Batch, data: Mapping[str, Any]) -> Outcome:
    aid, wid = data["assignment_id"], data["worker_id"]
    if b.conn.execute(select(assignments.c.assignment_id).where(
            assignments.c.assignment_id == aid)).first():
        return Applied(note=f"assignment {aid} already recorded")
    request = get_request(b.conn, data["request_id"])
    if request is None:
        return Parked(Missing(f"resource_request:{data['request_id']}",
                              f"resource request {data['request_id']} not received yet"))
    window = span(data["start_date"], data["end_date"])
    found = workers_as_of(b.conn, window.start, [wid])
    if not found:
        return Parked(Missing(f"worker:{wid}", f"worker {wid} not synced yet"))
    worker = found[0]
    objects = (("assignment", aid), ("worker", wid), ("project", request.project_code))
    if worker.last_day is not None and worker.last_day < window.end:
        return Failed((Problem(
            "staffing.worker_terminated", BusinessDomain.HR,
            f"assignment {aid} runs to {window.end}, after worker {wid}'s last day "
            f"({worker.last_day})", "PMO restaffs the request in the PSA (or HR corrects the "
            "termination date in the HRIS).", "data.worker_id", objects=objects),))
    extra = Booking(Decimal(data["hours_per_week"]), window)
    over = overload(worker, extra)
    approval = _approval(b, aid) if over else None
    if over and approval is None:
        return Failed((Problem(
            "staffing.over_capacity", BusinessDomain.PMO,
            f"assignment {aid} puts {worker.name} ({wid}) above capacity "
            f"({worker.capacity} h/wk) on {len(over)} day(s) from {over[0]} to {over[-1]}",
            f"Reduce the hours or dates in the PSA, or request an over-allocation approval "
            f"(`syncline staffing over-allocate {aid}`); once another principal approves it, "
            "the message is replayed.", "data.hours_per_week", objects=objects),))
    insert_rows(b.conn, assignments, [dict(
        assignment_id=aid, request_id=request.request_id, worker_id=wid,
        project_code=request.project_code, hours_per_week=extra.hours_per_week,
        start_date=data["start_date"], end_date=data["end_date"], status="confirmed",
        approval_id=approval, inbox_id=b.inbox_id)])
    b.conn.execute(update(resource_requests).where(
        resource_requests.c.request_id == request.request_id).values(status="filled"))
    return Applied(note=f"over-allocation approved ({approval})" if approval else "")


def flag_assignments_after(b: Batch, worker_id: str, last_day: date) -> None:
    """Assignments of a leaving worker that run past the last day: flagged, one exception each."""
    for a in b.conn.execute(select(assignments).where(
            (assignments.c.worker_id == worker_id) & (assignments.c.status == "confirmed")
            & (assignments.c.end_date > last_day.isoformat()))).all():
        b.conn.execute(update(assignments).where(
            assignments.c.assignment_id == a.assignment_id).values(status="flagged"))
        raise_exception(b.conn, Problem(
            "staffing.assignment_after_termination", BusinessDomain.PMO,
            f"worker {worker_id} leaves on {last_day} but is assigned to project "
            f"{a.project_code} until {a.end_date} (assignment {a.assignment_id})",
            "PMO restaffs the remaining weeks in the PSA: a new assignment on request "
            f"{a.request_id}.", "data.termination_date",
            objects=(("assignment", a.assignment_id), ("worker", worker_id),
                     ("project", a.project_code))),
            now=b.now, inbox_id=b.inbox_id, correlation_id=b.correlation_id)
