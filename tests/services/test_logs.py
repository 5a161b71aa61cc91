"""JSON logs: once configured (serve, worker), an applied message is one JSON line carrying its
correlation id, event id, inbox id and the principal that applied it; an API request is one
line with the caller's principal and the correlation id it sent (echoed back); unconfigured,
nothing is written."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.bootstrap import Syncline
from syncline.services.governance.keys import create_key
from syncline.services.telemetry import logs
from tests.builders import deal, time_entry, worker
from tests.services.test_billing_wiring import ingest


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure(stream)
    yield stream
    logs.reset()


def parsed(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_applied_event_is_one_json_line_with_its_ids(system: Syncline,
                                                        lines: io.StringIO) -> None:
    entry = time_entry("T-1", hours="6")
    ingest(system, deal(), worker(), entry)
    [line] = [r for r in parsed(lines) if r.get("type") == "time.approved"]
    assert line["event"] == "message.applied" and line["level"] == "info"
    assert line["event_id"] == entry["id"]
    assert line["correlation_id"] == "time/T-1"  # the builders' correlationid = subject
    assert line["principal"] == "system:processor"
    assert str(line["inbox_id"]).startswith("inb")
    assert line["source"] == "psa/kantata" and str(line["timestamp"]).endswith("Z")


def test_a_request_line_names_the_principal_and_echoes_the_correlation_id(
        system: Syncline, lines: io.StringIO) -> None:
    with system.engine.begin() as conn:
        key = create_key(conn, "finance-bot", ["finance"], by="setup", now=system.clock())[0]
    with TestClient(create_app(system, background=False)) as http:
        answer = http.get("/v1/kpis", params={"period": "2026-01"},
                          headers={"X-API-Key": key, "X-Correlation-ID": "corr-42"})
    assert answer.headers["x-correlation-id"] == "corr-42"
    [line] = [r for r in parsed(lines) if r["event"] == "http.request"]
    assert line["principal"] == "finance-bot" and line["correlation_id"] == "corr-42"
    assert line["status"] == 200 and line["path"] == "/v1/kpis"


def test_unconfigured_nothing_is_logged(system: Syncline,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ingest(system, deal(), worker(), time_entry("T-1"))
    captured = capsys.readouterr()
    assert "message.applied" not in captured.out + captured.err
