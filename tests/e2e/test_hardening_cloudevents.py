"""The CloudEvents HTTP binding in full, with the official CloudEvents Python SDK as the
client: binary content mode (attributes in ce-* headers, data as the body), structured mode
and batched mode (application/cloudevents-batch+json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage
from cloudevents.core.bindings.http import to_binary as sdk_to_binary
from cloudevents.core.bindings.http import to_structured as sdk_to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "test-key"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Syncline]]:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'ce.db'}",
                                api_keys="test-key"), clock=fixed_clock, durable=False)
    with TestClient(create_app(system, background=False)) as c:
        yield c, system


def _sdk_event(message: dict[str, Any], **extra: Any) -> CloudEvent:
    """Syncline's builder event as an SDK CloudEvent (over binary mode every attribute
    travels as a percent-encoded header string)."""
    attributes = {k: v for k, v in message.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"].replace("Z", "+00:00"))
    return CloudEvent({**attributes, **extra}, message["data"])


def to_binary(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    sent: HTTPMessage = sdk_to_binary(event, JSONFormat())
    return dict(sent.headers), sent.body


def to_structured(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    sent: HTTPMessage = sdk_to_structured(event, JSONFormat())
    return dict(sent.headers), sent.body


def to_json(event: CloudEvent) -> bytes:
    return JSONFormat().write(event)


def _applied(http: TestClient, message: dict[str, Any]) -> str:
    found = http.get(f"/v1/events/{message['source']}/{message['id']}", headers=KEY)
    assert found.status_code == 200, found.text
    return str(found.json()["status"])


def test_binary_mode_from_the_sdk(client: tuple[TestClient, Syncline]) -> None:
    http, system = client
    messages = [deal(), worker(), time_entry("T-1", hours="6")]
    for message in messages:
        headers, body = to_binary(_sdk_event(message))
        assert "ce-specversion" in headers and b"specversion" not in body
        r = http.post("/v1/events", headers={**headers, **KEY}, content=body)
        assert r.status_code == 202, r.text
    system.process()
    assert [_applied(http, m) for m in messages] == ["applied"] * 3


def test_binary_mode_types_the_sequence_extension(client: tuple[TestClient, Syncline]
                                                  ) -> None:
    http, system = client
    message = deal()
    headers, body = to_binary(_sdk_event(message, sequence="7"))
    assert headers["ce-sequence"] == "7"
    assert http.post("/v1/events", headers={**headers, **KEY}, content=body).status_code == 202
    with system.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT raw, sequence FROM inbox").one()
    assert json.loads(raw[0])["sequence"] == 7 and raw[1] == 7
    bad, body = to_binary(_sdk_event(deal("D-2"), sequence="²"))
    r = http.post("/v1/events", headers={**bad, **KEY}, content=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sequence"


def test_binary_mode_missing_attribute_names_it(client: tuple[TestClient, Syncline]) -> None:
    http, _ = client
    headers, body = to_binary(_sdk_event(deal()))
    del headers["ce-subject"]
    r = http.post("/v1/events", headers={**headers, **KEY}, content=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "subject"


def test_binary_mode_percent_encoded_header(client: tuple[TestClient, Syncline]) -> None:
    http, system = client
    message = deal()
    headers, body = to_binary(_sdk_event(message, subject="deal/D-1 ✓ 100%"))
    assert "%" in headers["ce-subject"]
    assert http.post("/v1/events", headers={**headers, **KEY}, content=body).status_code == 202
    with system.engine.connect() as conn:
        subject = conn.exec_driver_sql("SELECT subject FROM inbox").scalar()
    assert subject == "deal/D-1 ✓ 100%"


def test_structured_mode_from_the_sdk(client: tuple[TestClient, Syncline]) -> None:
    http, system = client
    messages = [deal(), worker()]
    for message in messages:
        headers, body = to_structured(_sdk_event(message))
        assert headers["content-type"] == "application/cloudevents+json"
        r = http.post("/v1/events", headers={**headers, **KEY}, content=body)
        assert r.status_code == 202, r.text
    system.process()
    assert [_applied(http, m) for m in messages] == ["applied"] * 2


def test_batched_mode(client: tuple[TestClient, Syncline]) -> None:
    http, system = client
    messages = [deal(), worker(), time_entry("T-1")]
    body = b"[" + b",".join(to_json(_sdk_event(m)) for m in messages) + b"]"
    r = http.post("/v1/events", content=body, headers={
        **KEY, "content-type": "application/cloudevents-batch+json"})
    assert r.status_code == 202, r.text
    assert [x["status"] for x in r.json()["results"]] == ["accepted"] * 3
    system.process()
    assert [_applied(http, m) for m in messages] == ["applied"] * 3
    r = http.post("/v1/events", content=to_json(_sdk_event(deal("D-9"))), headers={
        **KEY, "content-type": "application/cloudevents-batch+json"})
    assert r.status_code == 400 and "array" in r.json()["detail"]


def test_a_cloudevents_content_type_wins_over_ce_headers(client: tuple[TestClient, Syncline]
                                                         ) -> None:
    """Structured mode is decided by the media type: stray ce-* headers do not make it
    binary (the body is the whole event, not its data)."""
    http, _ = client
    event = deal()
    headers, body = to_structured(_sdk_event(event))
    r = http.post("/v1/events", content=body, headers={**headers, **KEY, "ce-specversion": "1.0",
                                                       "ce-id": "other"})
    assert r.status_code == 202, r.text
    assert r.json()["id"] == event["id"]
