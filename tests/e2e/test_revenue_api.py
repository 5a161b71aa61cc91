"""Over HTTP: a contract's revenue schedule with explanations."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from tests.builders import deal, event
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "k"}


def test_schedule_endpoint_explains_each_amount(tmp_path: Path) -> None:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", api_keys="k"),
                       clock=fixed_clock, durable=False)
    with TestClient(create_app(system)) as http:
        http.post("/v1/events?wait=10", headers=KEY, json=[
            deal("D-2", number="C-2", project="P-2", billing_type="fixed_fee", amount="10000",
                 milestones=[{"milestone_id": "M-1", "name": "Design", "amount": "4000"},
                             {"milestone_id": "M-2", "name": "Go-live", "amount": "6000"}]),
            event("milestone.completed", "milestone/M-1", {
                "milestone_id": "M-1", "project_code": "P-2", "completed_on": "2026-01-20",
                "evidence": {"accepted_by": "CFO"}})])
        r = http.get("/v1/contracts/C-2/schedule?as_of=2026-01-31", headers=KEY)
        assert r.status_code == 200, r.text
        body = r.json()
        (ob,) = body["obligations"]
        assert ob["method"] == "milestones" and ob["cumulative"]["2026-01"] == "4000.00"
        assert body["explanations"] and all(e["formula"] for e in body["explanations"])
        assert http.get("/v1/contracts/C-404/schedule", headers=KEY).status_code == 404
        assert http.get("/v1/contracts/C-2/schedule").status_code == 401
