"""Utilization, forecast and bench of a tiny firm equal hand-computed figures.

February 2026 has 20 weekdays (2–27). Ana (W-1): 40 h/wk, on leave 16–20 Feb (5 days) →
capacity 15 × 8 = 120 h; cost 80, then 90 from 9 Feb; assigned 20 h/wk 2–13 Feb on P-1
(billable at the contract's 200) → 10 × 4 = 40 h planned; 30 h of approved billable time.
Ben (W-2): 32 h/wk → 20 × 6.4 = 128 h; cost 60; assigned 16 h/wk 16 Feb–13 Mar → 10 × 3.2 =
32 h in February and 32 h in March; no time.
"""

from __future__ import annotations

from decimal import Decimal

from syncline.bootstrap import Syncline
from syncline.services.messaging.inbox import receive_many
from syncline.services.workforce.reports import workforce_report
from tests.builders import deal, time_entry
from tests.workforce_builders import assignment, person, request

D = Decimal
LEAVE = [("2026-02-16", "2026-02-20")]


def firm(system: Syncline) -> None:
    events = [
        deal(),
        person("W-1", name="Ana", cost="80", skills={"python": 4}, leave=LEAVE),
        person("W-1", name="Ana", cost="90", skills={"python": 4}, leave=LEAVE, sequence=2,
               effective="2026-02-09"),
        person("W-2", name="Ben", cost="60", capacity="32", skills={"python": 2, "sql": 3}),
        request("RR-1", start="2026-02-02", end="2026-02-13"),
        assignment("A-1", "W-1", request_id="RR-1", start="2026-02-02", end="2026-02-13"),
        request("RR-2", hours="16", start="2026-02-16", end="2026-03-13"),
        assignment("A-2", "W-2", request_id="RR-2", hours="16", start="2026-02-16",
                   end="2026-03-13"),
        time_entry("T-1", day="2026-02-02"), time_entry("T-2", day="2026-02-03"),
        time_entry("T-3", day="2026-02-04"), time_entry("T-4", day="2026-02-05", hours="6")]
    with system.engine.begin() as conn:
        receive_many(conn, events, now=system.clock())
    system.process()


def table(system: Syncline, name: str, period: str, index: int = 0) -> list[dict[str, object]]:
    with system.engine.connect() as conn:
        return workforce_report(conn, name, period, months=3).tables[index].as_dicts()


def test_utilization_actual_forecast_and_variance(system: Syncline) -> None:
    firm(system)
    rows = {r["worker"]: r for r in table(system, "utilization", "2026-02")}
    assert {k: rows["W-1"][k] for k in ("capacity_hours", "actual_hours", "actual_pct",
                                        "planned_hours", "forecast_pct", "variance_hours",
                                        "variance_points", "target_pct")} == {
        "capacity_hours": D("120.00"), "actual_hours": D("30.00"), "actual_pct": D("25.0"),
        "planned_hours": D("40.00"), "forecast_pct": D("33.3"), "variance_hours": D("-10.00"),
        "variance_points": D("-8.3"), "target_pct": D("80.0")}
    assert (rows["W-2"]["capacity_hours"], rows["W-2"]["planned_hours"],
            rows["W-2"]["forecast_pct"]) == (D("128.00"), D("32.00"), D("25.0"))
    # the firm: 248 h of capacity, 30 actual (12.1%), 72 planned (29.0%)
    assert (rows["*"]["capacity_hours"], rows["*"]["actual_pct"], rows["*"]["forecast_pct"]
            ) == (D("248.00"), D("12.1"), D("29.0"))


def test_forecast_by_project_and_month_uses_the_cost_rate_in_force_each_day(
        system: Syncline) -> None:
    firm(system)
    rows = table(system, "forecast", "2026-02")
    # February: 72 h × 200 = 14,400; cost Ana 20 h × 80 + 20 h × 90 = 3,400, Ben 32 × 60 =
    # 1,920 → 5,320; margin 9,080. March: Ben 32 h → 6,400 − 1,920 = 4,480.
    assert [(r["month"], r["planned_hours"], r["revenue"], r["cost"], r["margin"])
            for r in rows] == [
        ("2026-02", D("72.00"), D("14400.00"), D("5320.00"), D("9080.00")),
        ("2026-03", D("32.00"), D("6400.00"), D("1920.00"), D("4480.00"))]
    assert rows[0]["project"] == "P-1" and rows[0]["currency"] == "USD"


def test_bench_by_worker_role_and_skill(system: Syncline) -> None:
    firm(system)
    workers = table(system, "bench", "2026-02")
    assert [(r["worker"], r["free_hours"]) for r in workers] == [
        ("W-2", D("96.00")), ("W-1", D("80.00"))]
    assert table(system, "bench", "2026-02", 1) == [
        {"role": "consultant", "people_with_free_hours": D(2), "free_hours": D("176.00")}]
    assert [(r["skill"], r["free_hours"]) for r in table(system, "bench", "2026-02", 2)] == [
        ("python", D("176.00")), ("sql", D("96.00"))]


def test_the_cli_and_the_api_serve_the_reports(system: Syncline, tmp_path: object) -> None:
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from syncline.api.app import create_app
    from syncline.cli.main import app
    from syncline.services.governance.keys import create_key
    from tests.conftest import fixed_clock

    firm(system)
    url = system.settings.database_url
    runner = CliRunner()
    r = runner.invoke(app, ["workforce", "report", "forecast", "--period", "2026-02",
                            "--months", "2", "--format", "json", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert [row[4] for row in json.loads(r.output)["tables"][0]["rows"]] == [
        "14400.00", "6400.00"]
    r = runner.invoke(app, ["workforce", "report", "bench", "--period", "2026-02",
                            "--format", "csv", "--database-url", url])
    assert r.exit_code == 0 and "W-2,Ben,consultant" in r.output
    assert runner.invoke(app, ["workforce", "report", "margin", "--period", "2026-02",
                               "--database-url", url]).exit_code == 2
    # `syncline report` serves them beside the ledger's reports, in every format
    r = runner.invoke(app, ["report", "forecast", "--period", "2026-02", "--months", "2",
                            "--format", "json", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert [row[4] for row in json.loads(r.output)["tables"][0]["rows"]] == [
        "14400.00", "6400.00"]
    r = runner.invoke(app, ["report", "utilization", "--period", "2026-02", "--database-url",
                            url])
    assert r.exit_code == 0 and "Utilization 2026-02" in r.output and "Realization" in r.output
    r = runner.invoke(app, ["report", "bench", "--period", "2026-02", "--format", "csv",
                            "--database-url", url])
    assert r.exit_code == 0 and "W-2,Ben,consultant" in r.output
    xlsx = f"{tmp_path}/bench.xlsx"
    assert runner.invoke(app, ["report", "bench", "--period", "2026-02", "--format", "xlsx",
                               "--out", xlsx, "--database-url", url]).exit_code == 0
    from openpyxl import load_workbook
    assert load_workbook(xlsx).sheetnames[0].startswith("Bench")
    assert runner.invoke(app, ["report", "bench", "--period", "2026-02", "--entity", "US01",
                               "--database-url", url]).exit_code == 2
    with system.engine.begin() as conn:
        key = create_key(conn, "k-pmo", ["pmo"], by="setup", now=fixed_clock())[0]
    with TestClient(create_app(system, background=False)) as http:
        got = http.get("/v1/workforce/reports/utilization", params={"period": "2026-02"},
                       headers={"X-API-Key": key})
        assert got.status_code == 200
        assert got.json()["tables"][0]["rows"][-1][5] == "12.1"
        assert http.get("/v1/workforce/reports/nope", params={"period": "2026-02"},
                        headers={"X-API-Key": key}).status_code == 404
        got = http.get("/v1/reports/bench", params={"period": "2026-02", "format": "csv"},
                       headers={"X-API-Key": key})
        assert got.status_code == 200 and "W-2,Ben,consultant" in got.text


def test_forecast_joins_the_backlog_rpo_with_planned_revenue(system: Syncline) -> None:
    from syncline.adapters.db.revenue_tables import revenue_schedules

    firm(system)
    # C-1's stored schedule (rows as the revenue engine stores them): 5,000 in January (before
    # the window), 10,000 a month February to May.
    with system.engine.begin() as conn:
        conn.execute(revenue_schedules.insert(), [
            {"contract_number": "C-1", "obligation_id": "L1", "period": p, "currency": "USD",
             "revenue": D(r), "cumulative": D(c), "allocated": D(45000), "method": "ratable",
             "as_of": "2026-01-31", "version": 1}
            for p, r, c in (("2026-01", 5000, 5000), ("2026-02", 10000, 15000),
                            ("2026-03", 10000, 25000), ("2026-04", 10000, 35000),
                            ("2026-05", 10000, 45000))])
    rows = table(system, "forecast", "2026-02")  # February to April
    # gap = scheduled − planned: Feb 10,000 − 14,400; Mar 10,000 − 6,400; Apr nothing planned
    assert [(r["month"], r["revenue"], r["rpo_scheduled"], r["gap"]) for r in rows] == [
        ("2026-02", D("14400.00"), D("10000.00"), D("-4400.00")),
        ("2026-03", D("6400.00"), D("10000.00"), D("3600.00")),
        ("2026-04", D("0.00"), D("10000.00"), D("10000.00"))]
    # RPO from February: 4 × 10,000 = 40,000, of which 30,000 in the window; planned 20,800
    assert table(system, "forecast", "2026-02", 1) == [
        {"project": "P-1", "contract": "C-1", "currency": "USD", "rpo": D("40000.00"),
         "rpo_in_window": D("30000.00"), "planned_revenue": D("20800.00"),
         "gap": D("9200.00")}]


def test_realization_is_billed_against_standard_value(system: Syncline) -> None:
    from syncline.services.billing.run import run_billing

    firm(system)
    run_billing(system.engine, "2026-02", system.ref, system.charts, system.clock())
    # 30 approved billable hours of a consultant in February; standard rate (master data,
    # USD consultant) 150 → 4,500; billed at the contract's 200 → 6,000; 6,000 / 4,500 = 133.3 %
    expected = {"project": "P-1", "month": "2026-02", "currency": "USD",
                "billable_hours": D("30.00"), "standard_value": D("4500.00"),
                "billed": D("6000.00"), "realization_pct": D("133.3")}
    assert table(system, "utilization", "2026-02", 1) == [expected]
    assert table(system, "forecast", "2026-02", 2) == [expected]
