"""Billing end to end: `syncline billing run`, `syncline invoices list/show` (table, JSON,
HTML, PDF) and the HTTP endpoints for invoices, credit notes and billable items."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app
from syncline.config import Settings
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, rejection, time_entry, worker
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "test-key"}
runner = CliRunner()


@pytest.fixture
def billed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Syncline]]:
    # the CLI's own system, with inline delivery and the suite's clock (no DBOS in-process)
    monkeypatch.setattr("syncline.cli.common.bootstrap", lambda settings: bootstrap(
        settings, clock=fixed_clock, durable=False))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    system = bootstrap(Settings(database_url=url, api_keys="test-key"), clock=fixed_clock,
                       durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, [deal(tax="US-NY-SVC"), worker(), time_entry("T-1"),
                            time_entry("T-2", day="2026-01-06", hours="2.5")],
                     now=fixed_clock())
    system.process()
    r = runner.invoke(app, ["billing", "run", "--period", "2026-01", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["invoices"] == ["US01-2026-000001"]
    yield url, system
    system.engine.dispose()


def test_billing_run_twice_changes_nothing_and_dry_run_stores_nothing(billed: tuple) -> None:
    url, _ = billed
    again = runner.invoke(app, ["billing", "run", "--period", "2026-01", "--database-url", url])
    assert json.loads(again.output)["invoices"] == []
    dry = runner.invoke(app, ["billing", "run", "--period", "2026-02", "--dry-run",
                              "--database-url", url])
    assert json.loads(dry.output)["dry_run"] is True
    bad = runner.invoke(app, ["billing", "run", "--period", "2026-13", "--database-url", url])
    assert bad.exit_code == 2


def test_invoices_list_and_show_readable_and_json(billed: tuple, tmp_path: Path) -> None:
    url, _ = billed
    listed = runner.invoke(app, ["invoices", "list", "--json", "--database-url", url])
    (row,) = json.loads(listed.output)
    assert row["number"] == "US01-2026-000001" and row["total"] == "2286.38"
    table = runner.invoke(app, ["invoices", "list", "--database-url", url],
                          env={"COLUMNS": "140"})
    assert "US01-2026-000001" in table.output and "2,286.38" in table.output
    shown = runner.invoke(app, ["invoices", "show", "US01-2026-000001", "--json",
                                "--database-url", url])
    data = json.loads(shown.output)
    assert data["lines"] == [{"line_no": 1, "description": "Consultant time",
                              "quantity": "10.5", "unit_price": "200.00", "amount": "2100.00",
                              "deferred": False, "items": 2,
                              "item_keys": ["time:T-1", "time:T-2"]}]
    assert data["tax"] == "186.38" and data["tax_code"] == "US-NY-SVC"
    readable = runner.invoke(app, ["invoices", "show", "US01-2026-000001",
                                   "--database-url", url], env={"COLUMNS": "140"})
    assert "INVOICE US01-2026-000001" in readable.output and "Consultant time" in readable.output
    html, pdf = tmp_path / "inv.html", tmp_path / "inv.pdf"
    r = runner.invoke(app, ["invoices", "show", "US01-2026-000001", "--html", str(html),
                            "--pdf", str(pdf), "--database-url", url])
    assert r.exit_code == 0, r.output
    assert "US01-2026-000001" in html.read_text() and pdf.read_bytes()[:5] == b"%PDF-"
    missing = runner.invoke(app, ["invoices", "show", "US01-2026-999999", "--database-url", url])
    assert missing.exit_code == 1


def test_credit_note_over_cli_and_http(billed: tuple) -> None:
    url, system = billed
    with system.engine.begin() as conn:
        receive_many(conn, [rejection("T-2")], now=fixed_clock())
    system.process()
    r = runner.invoke(app, ["billing", "run", "--period", "2026-02", "--database-url", url])
    assert json.loads(r.output)["credit_notes"] == ["US01-CN-2026-000001"]
    shown = runner.invoke(app, ["invoices", "show", "US01-CN-2026-000001", "--json",
                                "--database-url", url])
    note = json.loads(shown.output)
    assert note["item_keys"] == ["time:T-2"] and note["total"] == "-544.38"
    with TestClient(create_app(system)) as http:
        inv = http.get("/v1/invoices/US01-2026-000001", headers=KEY).json()
        assert [c["number"] for c in inv["credit_notes"]] == ["US01-CN-2026-000001"]
        notes = http.get("/v1/credit-notes", headers=KEY).json()
        assert [n["invoice_number"] for n in notes] == ["US01-2026-000001"]
        one = http.get("/v1/credit-notes/US01-CN-2026-000001", headers=KEY).json()
        assert one["subtotal"] == "-500.00"
        items = http.get("/v1/billable-items", params={"status": "credited"},
                         headers=KEY).json()
        assert [i["key"] for i in items] == ["time:T-2"]
        html = http.get("/v1/invoices/US01-2026-000001.html", headers=KEY)
        assert html.status_code == 200 and "text/html" in html.headers["content-type"]
        pdf = http.get("/v1/invoices/US01-2026-000001.pdf", headers=KEY)
        assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
        assert http.get("/v1/invoices/NOPE.pdf", headers=KEY).status_code == 404
        assert http.get("/v1/credit-notes", headers={}).status_code == 401
