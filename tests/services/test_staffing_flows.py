"""resource.requested and assignment.confirmed applied; HR facts stored per worker version;
an assignment beyond capacity refused until an over-allocation is approved; a terminated
worker's later assignments flagged for PMO."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from syncline.adapters.db.workforce_tables import assignments, resource_requests, worker_profiles
from syncline.bootstrap import Syncline
from syncline.schemas import validate_event
from syncline.services.governance.approvals import SelfApproval
from syncline.services.governance.roles import Principal
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from syncline.services.workforce import overallocation
from tests.builders import deal, event
from tests.workforce_builders import assignment, person, request


def ingest(system: Syncline, *events: object) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())  # type: ignore[arg-type]
    system.process()


def open_codes(system: Syncline) -> list[str]:
    with system.engine.connect() as conn:
        return sorted(e.code for e in list_exceptions(conn))


def rows(system: Syncline, table: object) -> list[object]:
    with system.engine.connect() as conn:
        return list(conn.execute(select(table)))  # type: ignore[call-overload]


def test_the_events_are_valid_and_the_old_worker_shape_still_is() -> None:
    from tests.builders import worker
    for message in (person("W-1", skills={"python": 4}, leave=[("2026-02-09", "2026-02-13")]),
                    request(skills={"python": 3}), assignment("A-1", "W-1"), worker("W-2")):
        assert validate_event(message) == []
    bad = request()
    bad["data"]["skills"] = [{"skill": "python", "min_level": 7}]
    assert [p.path for p in validate_event(bad)] == ["data.skills[0].min_level"]


def test_hr_facts_are_kept_per_version_and_the_request_takes_the_contract_rate(
        system: Syncline) -> None:
    ingest(system, deal(), person("W-1", skills={"python": 4}),
           person("W-1", skills={"python": 5}, sequence=2, effective="2026-03-01"),
           request(skills={"python": 3}))
    profiles = rows(system, worker_profiles)
    assert [(p.sequence, json.loads(p.skills)) for p in profiles] == [
        (1, [{"level": 4, "skill": "python"}]), (2, [{"level": 5, "skill": "python"}])]
    (req,) = rows(system, resource_requests)
    assert (req.role, req.bill_rate, req.currency, req.status) == ("consultant", 200, "USD",
                                                                   "open")
    assert open_codes(system) == []


def test_a_request_waits_for_its_project_and_an_unknown_skill_is_flagged(
        system: Syncline) -> None:
    ingest(system, person("W-1", skills={"python": 4}), request(skills={"cobol": 2}))
    assert rows(system, resource_requests) == []
    ingest(system, deal())
    assert [r.request_id for r in rows(system, resource_requests)] == ["RR-1"]
    assert open_codes(system) == ["staffing.unknown_skill"]


def test_an_assignment_is_stored_and_fills_its_request(system: Syncline) -> None:
    ingest(system, assignment("A-1", "W-1"), deal(), person("W-1"), request())
    (a,) = rows(system, assignments)
    assert (a.worker_id, a.project_code, a.hours_per_week, a.status) == ("W-1", "P-1", 20,
                                                                         "confirmed")
    assert rows(system, resource_requests)[0].status == "filled"  # type: ignore[attr-defined]


def test_beyond_capacity_is_refused_until_another_principal_approves(
        system: Syncline) -> None:
    ingest(system, deal(), person("W-1", capacity="30"), request(),
           request("RR-2", hours="20"), assignment("A-1", "W-1"))
    ingest(system, assignment("A-2", "W-1", request_id="RR-2"))
    assert [a.assignment_id for a in rows(system, assignments)] == ["A-1"]
    assert open_codes(system) == ["staffing.over_capacity"]
    pmo = Principal("pat", frozenset({"pmo"}))
    made = overallocation.ask(system, "A-2", by=pmo, reason="go-live crunch")
    with pytest.raises(SelfApproval):
        overallocation.decide(system, made.id, by=Principal("pat", frozenset({"finance"})),
                              approve=True)
    done = overallocation.decide(system, made.id, by=Principal("fin", frozenset({"finance"})),
                                 approve=True)
    assert done["message"] == "applied"
    approved = {a.assignment_id: a.approval_id for a in rows(system, assignments)}
    assert approved == {"A-1": None, "A-2": made.id}
    assert open_codes(system) == []


def test_leave_reduces_capacity(system: Syncline) -> None:
    ingest(system, deal(), person("W-1", leave=[("2026-02-16", "2026-02-16")]),
           request(hours="40"), assignment("A-1", "W-1", hours="40"))
    assert rows(system, assignments) == []
    assert open_codes(system) == ["staffing.over_capacity"]


def test_termination_flags_later_assignments_and_refuses_new_ones(system: Syncline) -> None:
    ingest(system, deal(), person("W-1"), request(), request("RR-2"),
           assignment("A-1", "W-1"))
    ingest(system, event("worker.terminated", "worker/W-1", {
        "worker_id": "W-1", "termination_date": "2026-02-13"}, source="hris/workday",
        sequence=5))
    assert [a.status for a in rows(system, assignments)] == ["flagged"]
    assert open_codes(system) == ["staffing.assignment_after_termination"]
    ingest(system, assignment("A-2", "W-1", request_id="RR-2"))
    assert open_codes(system) == ["staffing.assignment_after_termination",
                                  "staffing.worker_terminated"]


def test_an_hris_without_levels_or_structured_locations_still_gives_facts(
        system: Syncline) -> None:
    """Workday sends skill descriptors and a location descriptor (connectors/workday)."""
    from tests.builders import worker
    message = worker("W-9")
    message["data"] |= {"skills": ["SAP FI", "Python"], "location": "New York",
                        "cost_center": "CC-410"}
    assert validate_event(message) == []
    ingest(system, message)
    (p,) = rows(system, worker_profiles)
    assert (json.loads(p.skills), p.city, p.cost_center, p.capacity_hours) == (
        [{"level": 1, "skill": "SAP FI"}, {"level": 1, "skill": "Python"}], "New York",
        "CC-410", None)
