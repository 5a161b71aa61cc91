"""Billing read-backs and runs over the CLI and HTTP (issue 9, findings 10a and 11): a
contract's caps (`syncline billing caps`, `GET /v1/contracts/{number}/caps`) and the billing
run as its own call with a dry run (`syncline billing run`, `POST /v1/billing/runs`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app
from syncline.config import Settings
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, event, time_entry, worker
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "test-key"}
runner = CliRunner()


def capped_deal() -> dict[str, Any]:
    d = deal(tax="US-NY-SVC")
    d["data"]["billing_terms"] = {"caps": [
        {"cap_id": "NTE-S", "limit": "2000", "kind": "soft", "tolerance": "0.05"},
        {"cap_id": "NTE-H", "limit": "3000", "kind": "hard"}]}
    return d


@pytest.fixture
def firm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Syncline]]:
    monkeypatch.setattr("syncline.cli.common.bootstrap", lambda settings: bootstrap(
        settings, clock=fixed_clock, durable=False))
    url = f"sqlite:///{tmp_path / 'api.db'}"
    system = bootstrap(Settings(database_url=url, api_keys="test-key"), clock=fixed_clock,
                       durable=False)
    amend = event("contract.amended", "deal/D-1", {
        "deal_id": "D-1", "amendment_id": "A-1", "effective_date": "2026-03-01",
        "changes": [{"action": "change_cap", "cap_id": "NTE-S", "limit": "4000"}]},
        source="crm/salesforce", sequence=2)
    with system.engine.begin() as conn:
        receive_many(conn, [capped_deal(), worker(), amend, time_entry("T-1"),
                            time_entry("T-2", day="2026-01-06")], now=fixed_clock())
    system.process()
    yield url, system
    system.engine.dispose()


def test_caps_read_back_over_cli_and_http(firm: tuple[str, Syncline]) -> None:
    """Soft NTE-S 2,000.00 + 5 % = ceiling 2,100.00; hard NTE-H 3,000.00. January's 3,200.00
    of time: T-1 1,600.00 fits both; T-2 is bound by NTE-S (least headroom: 500.00) → 500.00
    billed, 1,100.00 shown and written off. Net billed 2,100.00 for both caps (the write-off
    adjusts an item both cover). On 2026-03-01 NTE-S's limit is 4,000.00 (amendment A-1):
    ceiling 4,200.00, headroom 2,100.00."""
    url, system = firm
    r = runner.invoke(app, ["billing", "run", "--period", "2026-01", "--database-url", url])
    assert r.exit_code == 0, r.output
    got = runner.invoke(app, ["billing", "caps", "--contract", "C-1", "--on", "2026-01-31",
                              "--json", "--database-url", url])
    assert got.exit_code == 0, got.output
    hard, soft = json.loads(got.output)  # by cap id
    assert (soft["cap_id"], soft["limit"], soft["ceiling"], soft["billed"], soft["held"],
            soft["headroom"]) == ("NTE-S", "2000.00", "2100.00", "2100.00", "0.00", "0.00")
    assert (hard["cap_id"], hard["limit"], hard["billed"], hard["headroom"]) == (
        "NTE-H", "3000.00", "2100.00", "900.00")
    client = TestClient(create_app(system))
    march = client.get("/v1/contracts/C-1/caps", params={"on": "2026-03-01"}, headers=KEY)
    assert march.status_code == 200
    soft = march.json()[1]
    assert (soft["limit"], soft["ceiling"], soft["headroom"]) == ("4000.00", "4200.00",
                                                                  "2100.00")
    assert [h["limit"] for h in soft["limits"]] == ["2000.00", "4000.00"]
    assert soft["limits"][1]["from"] == "2026-03-01" and soft["limits"][1]["amendment"] == "A-1"
    assert client.get("/v1/contracts/C-9/caps", headers=KEY).status_code == 404
    table = runner.invoke(app, ["billing", "caps", "--database-url", url],
                          env={"COLUMNS": "140"})
    assert "NTE-S" in table.output and "2,100.00" in table.output


def test_billing_run_over_http_dry_run_says_what_a_run_would_issue(
        firm: tuple[str, Syncline]) -> None:
    """January, with dry_run: the invoice of C-1 (T-1 1,600.00 + T-2 1,600.00, the soft cap's
    write-off −1,100.00 → subtotal 2,100.00, NY tax 8.875 % = 186.38, total 2,286.38) and its
    write-off are reported, nothing is stored; C-2 (hard cap 1,600.00) bills T-3 and holds
    T-4. The CLI's dry run says the same. The real run then issues exactly that."""
    from syncline.services.state import fingerprint

    url, system = firm
    hard = deal("D-2", number="C-2", project="P-2")
    hard["data"]["billing_terms"] = {"caps": [{"cap_id": "NTE-2", "limit": "1600",
                                               "kind": "hard"}]}
    with system.engine.begin() as conn:
        receive_many(conn, [hard, time_entry("T-3", project="P-2"),
                            time_entry("T-4", project="P-2", day="2026-01-07")],
                     now=fixed_clock())
    system.process()
    with system.engine.connect() as conn:
        before = fingerprint(conn)
    client = TestClient(create_app(system))
    dry = client.post("/v1/billing/runs", json={"period": "2026-01", "dry_run": True},
                      headers=KEY)
    assert dry.status_code == 200, dry.text
    got = dry.json()
    assert got["dry_run"] is True and got["invoices"] == ["US01-2026-000001",
                                                          "US01-2026-000002"]
    c1, c2 = got["invoice_details"]
    assert (c1["contract"], c1["subtotal"], c1["tax"], c1["total"]) == (
        "C-1", "2100.00", "186.38", "2286.38")
    assert (c2["contract"], c2["total"]) == ("C-2", "1600.00")
    assert [(w["item"], w["adjusts"], w["amount"]) for w in got["write_offs"]] == [
        ("adjustment:cap:NTE-S:time:T-2#over", ["time:T-2#over"], "-1100.00")]
    assert [(h["item"], h["cap_id"], h["amount"]) for h in got["held_items"]] == [
        ("time:T-4", "NTE-2", "1600.00")]
    with system.engine.connect() as conn:
        assert fingerprint(conn) == before  # a dry run stores nothing
    cli = runner.invoke(app, ["billing", "run", "--period", "2026-01", "--dry-run",
                              "--database-url", url])
    assert json.loads(cli.output) == got
    real = client.post("/v1/billing/runs", json={"period": "2026-01"}, headers=KEY).json()
    assert real["dry_run"] is False
    assert {k: real[k] for k in ("invoices", "invoice_details", "write_offs", "held_items",
                                 "totals")} == {
        k: got[k] for k in ("invoices", "invoice_details", "write_offs", "held_items",
                            "totals")}
    again = client.post("/v1/billing/runs", json={"period": "2026-01"}, headers=KEY).json()
    assert again["invoices"] == [] and again["invoice_details"] == []  # idempotent
    bad = client.post("/v1/billing/runs", json={"period": "2026-13"}, headers=KEY)
    assert bad.status_code == 422
    assert client.post("/v1/billing/runs", json={"period": "2026-01", "entity": "XX99"},
                       headers=KEY).status_code == 422
