"""Harvest streams against the fake: headers, next links, retries, cursor, withdrawals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import Syncline
from syncline.connectors.harvest import build
from syncline.connectors.harvest.fake import FakeHarvest
from syncline.connectors.registry import Wiring
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.schemas import validate_event
from syncline.services.connectors import cursors
from syncline.services.messaging.inbox import receive_many
from tests.conftest import FIXED_NOW, fixed_clock

FIXTURES = Path(__file__).parents[2] / "fixtures" / "harvest"
SETTINGS = {"account_id": "1234567", "token": "${env:HARVEST_TOKEN}",
            "user_agent": "Syncline (ops@northwind.example)", "hr_source": "workday/hr"}
WORKER = {"specversion": "1.0", "id": "Worker/WD-1@v1", "source": "workday/hr",
          "type": "worker.upserted", "subject": "worker/WD-1", "time": "2024-01-01T00:00:00Z",
          "sequence": 1, "data": {
              "worker_id": "WD-1", "name": "Kim Allen", "email": "Kim.Allen@northwind.example",
              "role": "consultant", "legal_entity": "US01", "status": "active",
              "cost_rate": {"amount": "50.00", "currency": "USD"},
              "effective_date": "2024-01-01"}}


def records(name: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / f"{name}.json").read_text())[name]


def fake_with(entries: list[dict[str, Any]] | None = None) -> FakeHarvest:
    fake = FakeHarvest()
    for kind in ("users", "projects"):
        for r in records(kind):
            fake.put(kind, r)
    for e in records("time_entries") if entries is None else entries:
        fake.put("time_entries", e)
    return fake


def connector(system: Syncline, fake: FakeHarvest, slept: list[float] | None = None,
              **settings: Any) -> Any:
    wiring = Wiring(transport=httpx.MockTransport(fake), clock=fixed_clock,
                    sleep=(slept if slept is not None else []).append,
                    env={"HARVEST_TOKEN": "pat-harvest"}, engine=system.engine)
    return build(ConnectorConfig("time", "harvest", SETTINGS | settings), wiring)


@pytest.fixture
def hr(system: Syncline) -> Syncline:
    with system.engine.begin() as conn:
        receive_many(conn, [WORKER], now=FIXED_NOW)
    return system


def stored(system: Syncline, etype: str | None = None) -> list[dict[str, Any]]:
    with system.engine.connect() as conn:
        rows = conn.execute(select(inbox.c.raw, inbox.c.status, inbox.c.reason).where(
            inbox.c.source == "harvest/time").order_by(inbox.c.seq))
        out = [dict(json.loads(r.raw), _status=r.status, _reason=r.reason) for r in rows]
    return [e for e in out if etype is None or e.get("type") == etype]


def test_every_request_carries_the_three_headers_and_the_documented_query(hr: Syncline) -> None:
    fake = fake_with()
    result = run_stream(hr.engine, "time", connector(hr, fake).time_entries, clock=fixed_clock)
    assert result.ok and result.accepted == 1
    for r in fake.requests:
        assert r.headers["Authorization"] == "Bearer pat-harvest"
        assert r.headers["Harvest-Account-Id"] == "1234567"
        assert r.headers["User-Agent"] == "Syncline (ops@northwind.example)"
    assert [(r.url.path, dict(r.url.params)) for r in fake.requests] == [
        ("/v2/users", {"per_page": "2000"}), ("/v2/projects", {"per_page": "2000"}),
        ("/v2/time_entries", {"per_page": "2000"})]
    [event] = stored(hr, "time.approved")
    assert validate_event({k: v for k, v in event.items() if not k.startswith("_")}) == []
    assert event["id"] == "TimeEntry/636709355@2024-06-04T09:12:00Z"
    assert event["subject"] == "time/636709355" and event["sequence"] == 1717492320000
    assert event["data"]["worker_id"] == "WD-1" and event["data"]["hours"] == "2.50"
    assert result.cursor_after == "2024-06-04T17:00:00Z"  # the largest updated_at seen


def test_next_links_are_followed_as_given_to_the_end(hr: Syncline) -> None:
    many = [dict(records("time_entries")[0], id=700 + i,
                 updated_at=f"2024-06-0{i + 1}T10:00:00Z") for i in range(5)]
    fake = fake_with(many)
    result = run_stream(hr.engine, "time", connector(hr, fake, per_page=2).time_entries,
                        clock=fixed_clock)
    pages = [r for r in fake.requests if r.url.path == "/v2/time_entries"]
    assert len(pages) == 3 and all("cursor" in r.url.params for r in pages[1:])
    assert result.accepted == 5 and result.batches == 4  # three pages and the cursor


def test_a_client_that_builds_page_urls_is_refused_by_the_fake() -> None:
    fake = fake_with()
    built = httpx.Request("GET", "https://api.harvestapp.com/v2/time_entries?page=2",
                          headers={"Authorization": "Bearer pat-harvest", "User-Agent": "x",
                                   "Harvest-Account-Id": "1234567"})
    assert fake(built).status_code == 400
    no_agent = httpx.Request("GET", "https://api.harvestapp.com/v2/users",
                             headers={"Authorization": "Bearer pat-harvest",
                                      "Harvest-Account-Id": "1234567"})
    assert fake(no_agent).status_code == 400


def test_the_cursor_is_sent_back_as_updated_since_and_rereads_are_duplicates(
        hr: Syncline) -> None:
    fake = fake_with()
    c = connector(hr, fake)
    run_stream(hr.engine, "time", c.time_entries, clock=fixed_clock)
    again = run_stream(hr.engine, "time", c.time_entries, clock=fixed_clock)
    last = [r for r in fake.requests if r.url.path == "/v2/time_entries"][-1]
    assert last.url.params["updated_since"] == "2024-06-04T17:00:00Z"
    assert (again.accepted, again.duplicates) == (0, 0)  # only the unapproved one, skipped
    everything = run_stream(hr.engine, "time", c.time_entries, clock=fixed_clock,
                            since="2024-01-01T00:00:00Z")
    assert (everything.accepted, everything.duplicates) == (0, 1)


def test_an_empty_account_stores_nothing_and_keeps_no_cursor(hr: Syncline) -> None:
    result = run_stream(hr.engine, "time", connector(hr, fake_with([])).time_entries,
                        clock=fixed_clock)
    assert result.ok and result.batches == 2 and result.accepted == 0
    assert result.cursor_after is None


def test_429_waits_retry_after_then_continues(hr: Syncline) -> None:
    fake, slept = fake_with(), []
    fake.throttle(3, retry_after="15")
    result = run_stream(hr.engine, "time", connector(hr, fake, slept).time_entries,
                        clock=fixed_clock)
    assert result.ok and slept == [15.0, 15.0, 15.0]


def test_a_failure_on_page_two_keeps_page_one_and_the_old_cursor(hr: Syncline) -> None:
    many = [dict(records("time_entries")[0], id=800 + i) for i in range(3)]
    fake = fake_with(many)
    fake.fail_after(3, 422)  # users, projects and the first page go through
    c = connector(hr, fake, per_page=2)
    result = run_stream(hr.engine, "time", c.time_entries, clock=fixed_clock)
    assert "HTTP 422" in (result.error or "") and result.accepted == 2
    with hr.engine.connect() as conn:
        assert cursors.read(conn, "time", "time_entries") is None
    fake._fail_after = None
    again = run_stream(hr.engine, "time", c.time_entries, clock=fixed_clock)
    assert (again.accepted, again.duplicates) == (1, 2) and again.cursor_after


def test_a_bad_token_is_a_permanent_auth_error(hr: Syncline) -> None:
    fake = fake_with()
    fake.token = "revoked-and-reissued"
    result = run_stream(hr.engine, "time", connector(hr, fake).time_entries, clock=fixed_clock)
    assert "HTTP 401" in (result.error or "") and "invalid_token" in (result.error or "")
    assert "permanent" in (result.error or "") and len(fake.requests) == 1  # nothing to refresh


def test_an_entry_of_a_user_unknown_to_hr_is_refused_and_kept(system: Syncline) -> None:
    result = run_stream(system.engine, "time", connector(system, fake_with()).time_entries,
                        clock=fixed_clock)
    assert result.rejected == 1
    [refused] = stored(system)
    assert refused["_status"] == "rejected"
    assert "TimeEntry 636709355" in refused["_reason"] and "user 1782959 (Kim Allen)" in \
        refused["_reason"] and "unknown to HR" in refused["_reason"]


def test_a_withdrawn_approval_becomes_time_rejected(hr: Syncline) -> None:
    fake = fake_with()
    c = connector(hr, fake)
    run_stream(hr.engine, "time", c.time_entries, clock=fixed_clock)
    fake.records["time_entries"][636709355] |= {
        "is_closed": False, "is_locked": False, "updated_at": "2024-06-10T08:00:00Z"}
    result = run_stream(hr.engine, "time", c.time_entries, clock=fixed_clock)
    [event] = stored(hr, "time.rejected")
    assert result.accepted == 1 and event["data"] == {
        "time_entry_id": "636709355", "rejected_at": "2024-06-10T08:00:00Z",
        "reason": "approval withdrawn in Harvest: the entry is no longer closed"}
    assert event["sequence"] > stored(hr, "time.approved")[0]["sequence"]
    fake.records["time_entries"][636709355]["updated_at"] = "2024-06-11T08:00:00Z"
    run_stream(hr.engine, "time", c.time_entries, clock=fixed_clock)
    assert len(stored(hr, "time.rejected")) == 1  # no longer held: nothing to withdraw


def test_the_reconcile_withdraws_deleted_entries_once(hr: Syncline) -> None:
    fake = fake_with()
    c = connector(hr, fake)
    run_stream(hr.engine, "time", c.time_entries, clock=fixed_clock)
    quiet = run_stream(hr.engine, "time", c.approvals, clock=fixed_clock)
    assert quiet.accepted == 0
    assert [dict(r.url.params) for r in fake.requests][-1] == {"from": "2024-06-03",
                                                               "per_page": "2000"}
    fake.delete("time_entries", 636709355)
    first = run_stream(hr.engine, "time", c.approvals, clock=fixed_clock)
    second = run_stream(hr.engine, "time", c.approvals, clock=fixed_clock)
    [event] = stored(hr, "time.rejected")
    assert first.accepted == 1 and second.accepted == 0
    assert event["data"] == {"time_entry_id": "636709355", "rejected_at": "2026-07-15T12:00:00Z",
                             "reason": "deleted in Harvest after it was approved"}


def test_check_reads_the_signed_in_user(hr: Syncline) -> None:
    check = connector(hr, fake_with()).check()
    assert check.ok and "1782959" in check.detail


def test_settings_refuse_what_harvest_cannot_take(system: Syncline) -> None:
    with pytest.raises(ConnectorConfigInvalid) as caught:
        connector(system, fake_with(), user_agent="", per_page=5000, approved_when="approved",
                  hr_source=None)
    assert [p.split("settings.")[1].split(":")[0] for p in caught.value.problems] == [
        "approved_when", "hr_source", "per_page", "user_agent"]
    with pytest.raises(ConnectorConfigInvalid, match="database"):
        build(ConnectorConfig("time", "harvest", SETTINGS), Wiring(env={}))
