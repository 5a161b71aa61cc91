"""A simulated firm's workers through Workday and back: canonical → report rows (simulated.py)
→ the connector → the same canonical data, and applied by Syncline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from syncline.adapters.db.tables import inbox, workers
from syncline.bootstrap import Syncline
from syncline.connectors.registry import Wiring
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.workday import build
from syncline.connectors.workday.fake import FakeWorkday
from syncline.connectors.workday.mapping import WorkerRules, map_worker
from syncline.connectors.workday.simulated import load, worker_record
from syncline.schemas import validate_event
from syncline.simulator.model import SimulationConfig
from syncline.simulator.stream import simulate

JOB_PROFILES = {"Partner": "partner", "Engagement Manager": "manager",
                "Senior Consultant": "senior_consultant", "Consultant": "consultant",
                "Analyst": "analyst"}
RULES = WorkerRules(roles=JOB_PROFILES)


def worker_events() -> list[dict[str, Any]]:
    sim = simulate(SimulationConfig(seed=3, customers=2, workers=12, months=4))
    events = [e for e in sim.events if isinstance(e, dict)
              and e["type"] in ("worker.upserted", "worker.terminated")]
    assert {e["type"] for e in events} == {"worker.upserted", "worker.terminated"}
    assert any(e["type"] == "worker.upserted" and e["sequence"] == 2 for e in events)  # raise
    return events


def test_every_simulated_worker_event_maps_back_to_its_own_data() -> None:
    latest: dict[str, dict[str, Any]] = {}
    for event in worker_events():
        data = event["data"]
        if event["type"] == "worker.upserted":
            [m] = map_worker(worker_record(data, RULES, entry_moment=event["time"]), RULES)
            assert m.data == data
            latest[data["worker_id"]] = data
        else:
            upserted, ended = map_worker(worker_record(latest[data["worker_id"]], RULES,
                                                       ending=data), RULES)
            assert upserted.data == dict(latest[data["worker_id"]], status="terminated")
            assert ended.data == data


def sync(system: Syncline, fake: FakeWorkday, at: datetime) -> Any:
    wiring = Wiring(transport=httpx.MockTransport(fake), sleep=lambda s: None,
                    clock=lambda: at, env={"WD_PASS": "isu-pass"})
    settings = {"host": "wd5-services1.workday.com", "tenant": "acme",
                "report_owner": "ISU_Syncline", "report_name": "Syncline_Workers",
                "username": "ISU_Syncline@acme", "password": "${env:WD_PASS}",
                "roles": JOB_PROFILES}
    c = build(ConnectorConfig("hr", "workday", settings), wiring)
    return run_stream(system.engine, "hr", c.workers, clock=lambda: at)


def test_a_simulated_firm_loaded_into_the_fake_syncs_back_and_is_applied(
        system: Syncline) -> None:
    events = worker_events()
    fake = FakeWorkday()
    assert load(fake, events, RULES) == len(events)
    early = sync(system, fake, datetime(2026, 1, 15, tzinfo=UTC))  # before the raises
    late = sync(system, fake, datetime(2026, 6, 30, tzinfo=UTC))  # after every event
    assert early.ok and late.ok and early.rejected == late.rejected == 0

    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:  # the last state of each worker, as the late read sees it
        wid = e["data"]["worker_id"]
        if e["type"] == "worker.upserted":
            expected[("worker.upserted", wid)] = e["data"]
        else:
            expected[("worker.upserted", wid)] = dict(expected[("worker.upserted", wid)],
                                                      status="terminated")
            expected[("worker.terminated", wid)] = e["data"]
    with system.engine.connect() as conn:
        raws = [r.raw for r in conn.execute(select(inbox.c.raw).order_by(inbox.c.seq))]
    stored = [json.loads(r) for r in raws]
    assert all(validate_event(s) == [] for s in stored)
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for s in stored:
        last[(s["type"], s["data"]["worker_id"])] = s["data"]
    assert last == expected
    raised = {e["data"]["worker_id"] for e in events if e["sequence"] == 2
              and e["type"] == "worker.upserted"}
    assert late.accepted == len(raised) + 2 * sum(e["type"] == "worker.terminated"
                                                  for e in events)

    system.process()
    with system.engine.connect() as conn:
        applied = {r.worker_id: r for r in conn.execute(select(workers))}
    for (etype, wid), data in expected.items():
        if etype == "worker.upserted":
            assert applied[wid].role == data["role"]
            assert applied[wid].status == data["status"]
