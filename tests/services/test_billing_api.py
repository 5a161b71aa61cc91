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
