"""Revenue recognised *in* a month per contract, and recognition as its own call with a dry
run (issue 9, finding 11, revenue side; docs/revenue.md "Read-backs").

C-2: fixed fee 10,000.00 by milestones M-1 4,000.00 (accepted 2026-01-20) and M-2 6,000.00
(accepted 2026-02-10), nothing invoiced yet (recognition without a billing run).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from syncline.adapters.db.revenue_tables import revenue_schedules
from syncline.adapters.db.tables import journal_entries
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.revenue import app as revenue_cli
from syncline.config import Settings
from syncline.services.revenue.statement import contract_month
from syncline.services.revenue.sync import DEFAULT_POLICY, recognize
from tests.builders import deal, event
from tests.conftest import fixed_clock
from tests.services.test_deal_to_invoice import ingest

KEY = {"X-API-Key": "k"}


def milestone(mid: str, day: str) -> dict[str, object]:
    return event("milestone.completed", f"milestone/{mid}", {
        "milestone_id": mid, "project_code": "P-2", "completed_on": day,
        "evidence": {"accepted_by": "CFO"}})


def firm(system: Syncline) -> None:
    ingest(system, deal("D-2", number="C-2", project="P-2", billing_type="fixed_fee",
                        amount="10000", milestones=[
                            {"milestone_id": "M-1", "name": "Design", "amount": "4000"},
                            {"milestone_id": "M-2", "name": "Go-live", "amount": "6000"}]),
           milestone("M-1", "2026-01-20"), milestone("M-2", "2026-02-10"))


def test_revenue_in_a_month_per_contract(system: Syncline) -> None:
    """February: 6,000.00 recognised in the month (10,000.00 cumulative less January's
    4,000.00), nothing billed, a contract asset of 10,000.00 at its end."""
    firm(system)
    with system.engine.connect() as conn:
        feb = contract_month(conn, "C-2", "2026-02", DEFAULT_POLICY)
        jan = contract_month(conn, "C-2", "2026-01", DEFAULT_POLICY)
        assert contract_month(conn, "C-404", "2026-02", DEFAULT_POLICY) is None
    assert feb is not None and jan is not None
    assert (jan["revenue"], feb["revenue"], feb["cumulative"]) == ("4000.00", "6000.00",
                                                                    "10000.00")
    assert [(o["id"], o["revenue"]) for o in feb["obligations"]] == [("L1", "6000.00")]
    assert feb["balance"] == {"contract_asset": "10000.00", "contract_liability": "0.00",
                              "net": "10000.00"}
    assert (feb["billed"], feb["billed_net"], feb["forecast"]) == ([], "0", False)


def test_a_dry_run_says_what_it_would_post_and_changes_nothing(system: Syncline) -> None:
    firm(system)
    dry = recognize(system.engine, "2026-02", system.charts, system.clock(), dry_run=True)
    assert dry.dry_run and dry.journal_entries == 1
    (line,) = dry.by_contract
    assert (line["contract"], line["period_revenue"], line["true_up"],
            line["true_up_revenue"], line["true_up_unbilled"]) == (
        "C-2", "6000.00", "revenue:C-2:2026-02", "10000.00", "10000.00")
    with system.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(journal_entries)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(revenue_schedules)).scalar() == 0
    real = recognize(system.engine, "2026-02", system.charts, system.clock())
    assert (real.journal_entries, real.revenue) == (1, {"USD": Decimal("6000.00")})


def test_recognition_and_the_month_over_http(tmp_path: Path) -> None:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", api_keys="k"),
                       clock=fixed_clock, durable=False)
    try:
        firm(system)
        with TestClient(create_app(system)) as http:
            r = http.post("/v1/revenue/recognitions", headers=KEY,
                          json={"period": "2026-02", "entity": "US01", "dry_run": True})
            assert r.status_code == 200, r.text
            assert (r.json()["dry_run"], r.json()["journal_entries"]) == (True, 1)
            r = http.post("/v1/revenue/recognitions", headers=KEY,
                          json={"period": "2026-02", "entity": "US01"})
            assert (r.json()["journal_entries"], r.json()["revenue"]) == (1, {"USD": "6000.00"})
            again = http.post("/v1/revenue/recognitions", headers=KEY,
                              json={"period": "2026-02"}).json()
            assert again["journal_entries"] == 0  # idempotent
            assert http.post("/v1/revenue/recognitions", headers=KEY,
                             json={"period": "Feb"}).status_code == 422
            s = http.get("/v1/contracts/C-2/schedule", params={"period": "2026-02"},
                         headers=KEY).json()
            assert (s["as_of"], s["month"]["revenue"]) == ("2026-02-28", "6000.00")
    finally:
        system.engine.dispose()


def test_cli_contract_period(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    system = bootstrap(Settings(database_url=url), clock=fixed_clock, durable=False)
    try:
        firm(system)
    finally:
        system.engine.dispose()
    runner = CliRunner()
    r = runner.invoke(revenue_cli, ["contract", "C-2", "--period", "2026-02", "--json",
                                    "--database-url", url])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["month"]["revenue"] == "6000.00"
    r = runner.invoke(revenue_cli, ["contract", "C-2", "--period", "2026-02",
                                    "--database-url", url])
    assert r.exit_code == 0 and "Revenue recognised in 2026-02" in r.output
