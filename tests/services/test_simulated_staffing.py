"""The simulator's staffing (SimulationConfig.staffing): requests and assignments derived from
booked time, all applied without an exception, and the state fingerprint the same as without
them (the clean events do not change)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import select

from syncline.adapters.db.workforce_tables import assignments, resource_requests
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.schemas import validate_event
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import summary
from syncline.services.workforce.reports import workforce_report
from syncline.simulator import SimulationConfig, simulate
from tests.conftest import fixed_clock

SMALL = {"seed": 3, "customers": 4, "workers": 8, "months": 3}


def run(tmp: Path, staffing: bool) -> tuple[dict, list, list, list, object]:
    sim = simulate(SimulationConfig(**SMALL, staffing=staffing))  # type: ignore[arg-type]
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp}/{staffing}.db"),
                       clock=fixed_clock, durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, sim.to_jsonl().splitlines(), now=fixed_clock())
    system.process()
    with system.engine.connect() as conn:
        made = (summary(conn), list_exceptions(conn), list(conn.execute(select(assignments))),
                list(conn.execute(select(resource_requests))),
                workforce_report(conn, "forecast", "2026-01", 3))
    system.engine.dispose()
    return *made[:4], (sim, made[4])


def test_staffing_adds_requests_and_assignments_and_changes_no_state(tmp_path: Path) -> None:
    plain, plain_exc, none, _, _ = run(tmp_path, False)
    staffed, exc, booked, requests, (sim, forecast) = run(tmp_path, True)
    assert none == []
    kinds = Counter(e["type"] for e in sim.events)  # type: ignore[attr-defined]
    assert kinds["resource.requested"] == kinds["assignment.confirmed"] == len(booked) > 5
    assert all(validate_event(e) == [] for e in sim.events  # type: ignore[attr-defined]
               if e["type"] in ("resource.requested", "assignment.confirmed"))
    assert {r.status for r in requests} == {"filled"}
    assert staffed["state_fingerprint"] == plain["state_fingerprint"]
    assert [e.code for e in exc] == [e.code for e in plain_exc]
    assert forecast.tables[0].rows  # planned revenue and cost by project and month
