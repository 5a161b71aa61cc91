"""A sync stores each batch with its cursor; a vendor error mid-run keeps what was stored and
leaves the cursor there; a refusal is kept raw and rejected naming the vendor record; webhooks
are verified on the raw body, kept, and answered (issue 12; connectors.md §9.3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from syncline.adapters.db.connector_tables import connector_webhooks
from syncline.adapters.db.tables import inbox
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.base import Batch, Check, WebhookReply, WebhookRequest
from syncline.connectors.sdk.config import ConnectorConfigInvalid, parse
from syncline.connectors.sdk.errors import SignatureError, VendorError
from syncline.connectors.sdk.events import envelope, parse_time, record_version_id, refusal
from syncline.connectors.sdk.signatures import check_timestamp, hmac_digest, verify_hmac
from syncline.services.connectors.cursors import listing, reset
from syncline.services.messaging.exceptions import list_exceptions
from tests.conftest import FIXED_NOW, fixed_clock

SOURCE = "acme/test"


def worker_event(n: int) -> dict[str, object]:
    at = parse_time(f"2026-07-0{n}T10:00:00Z")
    return envelope(source=SOURCE, etype="worker.terminated", subject=f"worker/W{n}",
                    event_id=record_version_id("Worker", f"W{n}", at.isoformat()), time=at,
                    sequence=n, data={"worker_id": f"W{n}", "termination_date": "2026-07-31"})


@dataclass
class PagedStream:
    """Pages of one event each; ``fail_on`` raises a vendor error instead of that page."""

    name: str = "workers"
    description: str = "test workers"
    pages: int = 3
    fail_on: int | None = None
    starts: list[str | None] = field(default_factory=list)

    def read(self, cursor: str | None) -> Iterator[Batch]:
        self.starts.append(cursor)
        first = int(cursor or 0) + 1
        for n in range(first, self.pages + 1):
            if n == self.fail_on:
                raise VendorError("acme", "service unavailable", status=503, retryable=True)
            yield Batch(events=[worker_event(n)], cursor=str(n))


def count(system: Syncline) -> int:
    with system.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inbox)).scalar() or 0)


def test_cursor_moves_with_each_committed_batch_and_a_failure_keeps_what_was_stored(
        system: Syncline) -> None:
    failing = PagedStream(fail_on=3)
    result = run_stream(system.engine, "acme", failing, clock=system.clock)
    assert not result.ok and "HTTP 503" in (result.error or "") and result.accepted == 2
    assert count(system) == 2
    [row] = listing(system.engine, "acme")
    assert (row.value, row.last_status, row.records_total) == ("2", "failed", 2)
    with system.engine.connect() as conn:
        assert [e.code for e in list_exceptions(conn, status="open")] == [
            "connector.sync_failed"]
    healthy = PagedStream()
    again = run_stream(system.engine, "acme", healthy, clock=system.clock)
    assert healthy.starts == ["2"] and again.accepted == 1 and again.ok
    assert (again.cursor_before, again.cursor_after) == ("2", "3")


def test_reading_again_from_the_start_is_all_duplicates(system: Syncline) -> None:
    run_stream(system.engine, "acme", PagedStream(), clock=system.clock)
    assert reset(system.engine, "acme", None, FIXED_NOW) == 1
    again = run_stream(system.engine, "acme", PagedStream(), clock=system.clock)
    assert (again.accepted, again.duplicates) == (0, 3) and count(system) == 3


def test_a_refusal_is_kept_raw_and_rejected_naming_the_vendor_record(system: Syncline) -> None:
    bad = refusal(source=SOURCE, event_id="Opportunity/006X@1", etype="deal.closed_won",
                  record={"Id": "006X", "StageName": "Imagined"},
                  reason="Opportunity 006X (https://acme/006X): unknown stage 'Imagined'",
                  field="StageName")

    @dataclass
    class OneBad:
        name: str = "deals"
        description: str = ""

        def read(self, cursor: str | None) -> Iterator[Batch]:
            yield Batch(refusals=[bad], cursor="1")

    result = run_stream(system.engine, "acme", OneBad(), clock=system.clock)
    assert result.rejected == 1 and "unknown stage" in result.rejected_reasons[0]
    with system.engine.connect() as conn:
        row = conn.execute(select(inbox.c.status, inbox.c.raw, inbox.c.reason,
                                  inbox.c.type)).one()
        assert row.status == "rejected" and json.loads(row.raw)["StageName"] == "Imagined"
        assert row.type == "deal.closed_won" and "StageName" in row.reason
        [exc] = list_exceptions(conn, status="open")
        assert "006X" in exc.message


def test_hmac_verification_is_over_the_raw_bytes_and_constant_time() -> None:
    body = b'{"a": 1}'
    good = hmac_digest("s3cret", body)
    verify_hmac("s3cret", body, good)
    verify_hmac("s3cret", body, "sha256=" + good.upper(), prefix="sha256=")
    for wrong_body in (b'{"a":1}', b'{"a": 2}'):  # re-serialized JSON is not the raw body
        with pytest.raises(SignatureError):
            verify_hmac("s3cret", wrong_body, good)
    with pytest.raises(SignatureError, match="missing"):
        verify_hmac("s3cret", body, None)
    b64 = hmac_digest("s3cret", body, encoding="base64")
    verify_hmac("s3cret", body, b64, encoding="base64")


def test_timestamp_window() -> None:
    now_ms = int(FIXED_NOW.timestamp() * 1000)
    check_timestamp(str(now_ms - 299_000), FIXED_NOW)
    with pytest.raises(SignatureError, match="window"):
        check_timestamp(str(now_ms - 301_000), FIXED_NOW)
    with pytest.raises(SignatureError, match="window"):
        check_timestamp(str(int((FIXED_NOW + timedelta(minutes=6)).timestamp())), FIXED_NOW,
                        unit="s")
    with pytest.raises(SignatureError, match="integer"):
        check_timestamp("yesterday", FIXED_NOW)


def test_config_problems_are_named_with_their_place() -> None:
    with pytest.raises(ConnectorConfigInvalid) as bad:
        parse({"connectors": [{"name": "crm", "kind": "salesforce"},
                              {"name": "crm", "kind": "nope", "poll_minutes": -1, "x": 1},
                              {"name": "Bad Name!", "kind": "hubspot"}]},
              kinds={"salesforce", "hubspot"}, where="f.yaml")
    text = "\n".join(bad.value.problems)
    assert "connectors[1].name: crm is configured twice" in text
    assert "connectors[1].kind: 'nope' is not a connector" in text
    assert "poll_minutes" in text and "unknown keys x" in text
    assert "connectors[2].name" in text


class SignedConnector:
    """A webhook connector: HMAC-SHA256 hex of the raw body in ``X-Signature``."""

    name, kind = "acme", "test"

    def streams(self) -> list[PagedStream]:
        return [PagedStream()]

    def check(self) -> Check:
        return Check(True, "fine")

    def webhook(self, request: WebhookRequest) -> WebhookReply:
        verify_hmac("whsec", request.body, request.headers.get("x-signature"))
        n = json.loads(request.body)["n"]
        return WebhookReply(events=[worker_event(n)], body='{"ok":true}', wake=["workers"])


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Syncline]]:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}",
                                api_keys="test-key"), clock=fixed_clock, durable=False)
    connector = SignedConnector()
    app = create_app(system, background=False,
                     connectors=lambda name: connector if name == "acme" else None)
    with TestClient(app) as client:
        yield client, system


def test_webhook_route_verifies_stores_and_answers(api: tuple[TestClient, Syncline]) -> None:
    client, system = api
    body = b'{"n": 1}'
    signed = {"X-Signature": hmac_digest("whsec", body), "Content-Type": "application/json"}
    ok = client.post("/v1/connectors/acme/webhook", content=body, headers=signed)
    assert ok.status_code == 200 and ok.json() == {"ok": True}
    again = client.post("/v1/connectors/acme/webhook", content=body, headers=signed)
    assert again.status_code == 200
    tampered = client.post("/v1/connectors/acme/webhook", content=b'{"n": 2}', headers=signed)
    assert tampered.status_code == 401 and "does not match" in tampered.json()["detail"]
    assert client.post("/v1/connectors/nope/webhook", content=body).status_code == 404
    with system.engine.connect() as conn:
        logged = conn.execute(select(connector_webhooks.c.status).order_by(
            connector_webhooks.c.received_at, connector_webhooks.c.id)).scalars().all()
        assert sorted(logged) == ["accepted", "accepted", "refused"]
        stored = conn.execute(select(inbox.c.subject)).scalars().all()
    # W1 from the webhook (its duplicate is a no-op), W1-W3 from the woken stream
    assert sorted(stored) == ["worker/W1", "worker/W2", "worker/W3"]
    state = client.get("/v1/connectors", headers={"X-API-Key": "test-key"})
    assert state.status_code == 200 and state.json()[0]["stream"] == "workers"


def test_an_unreadable_webhook_body_is_a_400_kept_as_refused(
        api: tuple[TestClient, Syncline]) -> None:
    """A body the connector's parser chokes on (here: not JSON) is never a 500."""
    client, system = api
    body = b"{not json"
    signed = {"X-Signature": hmac_digest("whsec", body)}
    answer = client.post("/v1/connectors/acme/webhook", content=body, headers=signed)
    assert answer.status_code == 400 and "unreadable webhook body" in answer.json()["detail"]
    with system.engine.connect() as conn:
        row = conn.execute(select(connector_webhooks.c.status, connector_webhooks.c.body)).one()
    assert row.status == "refused" and row.body == "{not json"
