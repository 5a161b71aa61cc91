"""Over HTTP: events in through POST /v1/events, an invoice out through GET /v1/invoices."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "test-key"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, object]]:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                                api_keys="test-key"), clock=fixed_clock, durable=False)
    with TestClient(create_app(system)) as c:
        yield c, system


def test_event_to_invoice_over_http(client: tuple) -> None:
    http, system = client
    r = http.post("/v1/events?wait=10", json=[deal(), worker()], headers=KEY)
    assert r.status_code == 202, r.text
    assert [x["outcome"]["status"] for x in r.json()["results"]] == ["applied", "applied"]
    entry = time_entry("T-1", hours="6")
    r = http.post("/v1/events", json=entry, headers=KEY)
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    first = r.json()["inbox_id"]
    # the same event (same source and id) sent again: a duplicate of the stored message
    again = http.post("/v1/events", json=entry, headers=KEY)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate"
    assert again.json()["inbox_id"] == first
    # the same timesheet line under a new event id is a new message, applied once only
    copy = {**entry, "id": f"{entry['id']}-resent"}
    r = http.post("/v1/events?wait=10", json=copy, headers=KEY)
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    assert r.json()["inbox_id"] != first
    assert r.json()["outcome"]["status"] == "applied"  # idempotent on the time entry id
    run_billing(system.engine, "2026-01", system.ref, system.charts, fixed_clock())
    invoices = http.get("/v1/invoices", headers=KEY).json()
    assert [i["total"] for i in invoices] == ["1200.00"]
    one = http.get(f"/v1/invoices/{invoices[0]['number']}", headers=KEY).json()
    assert one["lines"][0]["description"] == "Consultant time"
    assert http.get("/v1/projects", headers=KEY).json()[0]["wbs"][0]["name"] == "Discovery"
    assert http.get("/v1/contracts/C-1", headers=KEY).json()["currency"] == "USD"


def test_bad_input_is_4xx_naming_the_field_and_kept(client: tuple) -> None:
    http, _ = client
    r = http.post("/v1/events", json=time_entry("T-2", hours="seven"), headers=KEY)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "data.hours"
    r = http.post("/v1/events", content=b"{oops", headers=KEY)
    assert r.status_code == 422 and "not valid JSON" in r.json()["errors"][0]["message"]
    r = http.post("/v1/events", json=[deal(), {"id": "x"}], headers=KEY)
    assert r.status_code == 207
    excs = http.get("/v1/exceptions", headers=KEY).json()
    assert len(excs) == 3 and {e["domain"] for e in excs} == {"it"}
    detail = http.get(f"/v1/exceptions/{excs[0]['id']}", headers=KEY).json()
    assert detail["lineage"]["raw"]


def test_every_endpoint_but_health_needs_a_key(client: tuple) -> None:
    http, _ = client
    assert http.get("/v1/health").status_code == 200
    for path in ("/v1/contracts", "/v1/projects", "/v1/invoices", "/v1/exceptions",
                 "/v1/billable-items"):
        assert http.get(path).status_code == 401
        assert http.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
    assert http.post("/v1/events", json=deal()).status_code == 401


def test_post_stores_and_the_outcome_is_read_back(client: tuple) -> None:
    """POST only stores (202 'accepted'); the background worker applies; the outcome of each
    message is read back by source and id: applied, parked on its prerequisite, or failed
    with the exception it opened. `?wait=` holds the answer until the message settles."""
    http, _ = client
    early = time_entry("T-9", hours="4")  # its project does not exist yet: parked
    r = http.post("/v1/events?wait=10", json=early, headers=KEY)
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    outcome = r.json()["outcome"]
    assert outcome["status"] == "parked"
    assert outcome["parked_on"]["prerequisite"] == "project:P-1"
    r = http.post("/v1/events?wait=10", json=[deal(), worker()], headers=KEY)
    assert r.status_code == 202
    src, eid = early["source"], early["id"]
    status = http.get(f"/v1/events/{src}/{eid}", headers=KEY)
    deadline = time.monotonic() + 10  # released when the project arrived: applied next round
    while status.json()["status"] != "applied" and time.monotonic() < deadline:
        time.sleep(0.05)
        status = http.get(f"/v1/events/{src}/{eid}", headers=KEY)
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "applied"
    assert status.json()["deliveries"] == 1
    bad = time_entry("T-10", hours="4", task="NOPE")  # valid schema, unknown WBS task
    r = http.post("/v1/events?wait=10", json=bad, headers=KEY)
    assert r.status_code == 202  # accepted: the business rule failed after storing
    outcome = r.json()["outcome"]
    assert outcome["status"] == "failed"
    (exc,) = outcome["exceptions"]
    assert exc["code"] == "time.unknown_task" and exc["domain"] == "pmo"
    again = http.get(f"/v1/events/{bad['source']}/{bad['id']}", headers=KEY).json()
    assert again["exceptions"][0]["id"] == exc["id"]
    missing = http.get(f"/v1/events/{src}/no-such-id", headers=KEY)
    assert missing.status_code == 404 and "no-such-id" in missing.json()["detail"]
    assert http.get(f"/v1/events/{src}/{eid}").status_code == 401
