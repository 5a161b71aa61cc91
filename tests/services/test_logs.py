"""JSON logs: once configured (serve, worker), an applied message is one JSON line carrying its
correlation id, event id, inbox id and the principal that applied it; an API request is one
line with the caller's principal and the correlation id it sent (echoed back); unconfigured,
nothing is written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from syncline.api.app import create_app
from syncline.bootstrap import Syncline
from syncline.config import Settings
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


def test_at_warning_the_request_and_message_lines_are_dropped_but_warnings_kept(
        system: Syncline) -> None:
    stream = io.StringIO()
    logs.configure(stream, level="WARNING")  # SYNCLINE_LOG_LEVEL=WARNING
    try:
        ingest(system, deal(), worker(), time_entry("T-1"))
        with system.engine.begin() as conn:
            key = create_key(conn, "finance-bot", ["finance"], by="setup",
                             now=system.clock())[0]
        with TestClient(create_app(system, background=False)) as http:
            answer = http.get("/v1/kpis", params={"period": "2026-01"},
                              headers={"X-API-Key": key, "X-Correlation-ID": "corr-7"})
        assert answer.headers["x-correlation-id"] == "corr-7"  # still echoed
        logs.warn("delivery.retry", outbox_id="out-1")
        assert [r["event"] for r in parsed(stream)] == ["delivery.retry"]
        assert not logs.enabled(logging.INFO) and logs.enabled(logging.WARNING)
    finally:
        logs.reset()


def test_the_log_level_setting_is_a_level_name_in_any_case() -> None:
    assert Settings(log_level="warning").log_level == "WARNING"
    assert Settings().log_level == "INFO"
    with pytest.raises(ValidationError):
        Settings(log_level="LOUD")
    with pytest.raises(ValueError, match="not one of"):
        logs.configure(io.StringIO(), level="LOUD")


def test_serve_and_worker_configure_logs_from_the_setting(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import uvicorn

    from syncline.cli import workers
    from syncline.cli.main import app as cli

    monkeypatch.setenv("SYNCLINE_LOG_LEVEL", "warning")
    monkeypatch.setenv("SYNCLINE_API_KEYS", "k")
    started: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw))
    before = logging.getLogger("syncline").level
    try:
        result = CliRunner().invoke(cli, ["serve", "--database-url",
                                          f"sqlite:///{tmp_path / 's.db'}"])
        assert result.exit_code == 0, result.output
        assert started["log_level"] == "warning" and started["access_log"] is False
        assert logs.enabled() and not logs.enabled(logging.INFO)
        logs.reset()
        monkeypatch.setenv("SYNCLINE_LOG_LEVEL", "ERROR")
        workers._logging()
        assert logs.enabled(logging.ERROR) and not logs.enabled(logging.WARNING)
        assert logging.getLogger("syncline").level == logging.ERROR
    finally:
        logs.reset()
        logging.getLogger("syncline").setLevel(before)
