"""A simulated firm's time through Harvest and back: canonical → Harvest entries
(simulated.py) → the connector → the same canonical data (less what Harvest does not hold)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import Syncline
from syncline.connectors.harvest import build
from syncline.connectors.harvest.fake import FakeHarvest
from syncline.connectors.harvest.mapping import Person, TimeRules, directory, map_approved
from syncline.connectors.harvest.simulated import HarvestLoader
from syncline.connectors.registry import Wiring
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.schemas import validate_event
from syncline.services.messaging.inbox import receive_many
from syncline.simulator.model import SimulationConfig
from syncline.simulator.stream import simulate
from tests.conftest import FIXED_NOW, fixed_clock

RULES = TimeRules(entry_prefix="TE-")
KINDS = ("worker.upserted", "time.approved", "time.rejected")


def sim_events() -> list[dict[str, Any]]:
    sim = simulate(SimulationConfig(seed=3, customers=2, workers=6, months=4))
    events = [e for e in sim.events if isinstance(e, dict) and e["type"] in KINDS]
    assert {e["type"] for e in events} == set(KINDS)
    return events


def test_every_simulated_approval_maps_back_to_its_data_less_the_approver() -> None:
    events = sim_events()
    loader = HarvestLoader(FakeHarvest(), RULES)
    hr: dict[str, Person] = {}
    for e in events:
        if e["type"] == "worker.upserted":
            d = e["data"]
            hr[d["worker_id"]] = hr["email:" + d["email"]] = Person(d["worker_id"], d["role"], "")
            loader.emails[d["worker_id"]] = d["email"]
    for e in events:
        if e["type"] != "time.approved":
            continue
        entry = loader.approved(e["data"])
        people = directory(list(loader.users.values()), rule="email", hr=hr, user_workers={},
                           user_roles={})
        projects = {str(p["id"]): p["code"] for p in loader.projects.values()}
        expected = {k: v for k, v in e["data"].items() if k != "approved_by"}
        assert map_approved(entry, RULES, people=people, projects=projects) == expected


def test_a_simulated_firm_synced_as_it_happens_gives_its_approvals_and_withdrawals(
        system: Syncline) -> None:
    events = sim_events()
    with system.engine.begin() as conn:  # HR as Syncline received it
        receive_many(conn, [e for e in events if e["type"] == "worker.upserted"], now=FIXED_NOW)
    fake = FakeHarvest()
    loader = HarvestLoader(fake, RULES)
    wiring = Wiring(transport=httpx.MockTransport(fake), clock=fixed_clock, sleep=lambda s: 0,
                    env={"T": "pat-harvest"}, engine=system.engine)
    c = build(ConnectorConfig("time", "harvest", {
        "account_id": "1234567", "token": "${env:T}", "user_agent": "Syncline (qa@x.example)",
        "hr_source": "hris/workday", "entry_prefix": "TE-", "per_page": 50}), wiring)
    for e in events:  # sync just before each rejection, so the approval was seen first
        if e["type"] == "time.rejected":
            assert run_stream(system.engine, "time", c.time_entries, clock=fixed_clock).ok
        loader.load([e])
    final = run_stream(system.engine, "time", c.time_entries, clock=fixed_clock)
    assert final.ok and final.rejected == 0

    with system.engine.connect() as conn:
        stored = [json.loads(r) for r in conn.execute(select(inbox.c.raw).where(
            inbox.c.source == "harvest/time").order_by(inbox.c.seq)).scalars()]
    assert all(validate_event(s) == [] for s in stored)
    got = {(s["type"], s["data"]["time_entry_id"]): s["data"] for s in stored}
    want: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        d = e["data"]
        if e["type"] == "time.approved":
            want[("time.approved", d["time_entry_id"])] = {
                k: v for k, v in d.items() if k != "approved_by"}
        elif e["type"] == "time.rejected":
            want[("time.rejected", d["time_entry_id"])] = {
                "time_entry_id": d["time_entry_id"], "rejected_at": d["rejected_at"],
                "reason": "approval withdrawn in Harvest: the entry is no longer closed"}
    assert got == want
