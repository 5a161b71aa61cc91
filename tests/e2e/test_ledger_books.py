"""The ledger on a real simulated run: the Beancount export of the stored books is accepted by
beancount (what `bean-check` runs) and its bean-query trial balance equals Syncline's; reports,
exports and periods through the CLI and the HTTP API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import beanquery
import pytest
from beancount import loader
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from syncline.adapters.db.tables import invoices
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app as cli
from syncline.config import Settings
from syncline.ledger.exports.beancount import account_names
from syncline.ledger.journal import trial_balance_of
from syncline.services.billing.run import run_billing
from syncline.services.ledger.queries import charts_for, load_entries
from syncline.services.ledger.reports import build_report, export_books
from syncline.services.messaging.inbox import receive_many
from syncline.simulator import SimulationConfig, end_of_stream, simulate
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "test-key"}
runner = CliRunner()


@pytest.fixture(scope="module")
def firm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Syncline, str]]:
    cfg = SimulationConfig(seed=11, customers=4, workers=8, months=3, delivery_faults=True)
    sim = simulate(cfg)
    url = f"sqlite:///{tmp_path_factory.mktemp('books') / 'books.db'}"
    system = bootstrap(Settings(database_url=url, api_keys="test-key"), clock=fixed_clock,
                       durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, sim.to_jsonl().splitlines(), now=fixed_clock())
    system.process()
    system.sweep(as_of=end_of_stream(sim) + timedelta(days=30))
    for month in range(1, cfg.months + 1):
        run_billing(system.engine, f"2026-{month:02d}", system.ref, system.charts, fixed_clock())
    yield system, url
    system.engine.dispose()


def test_beancount_export_of_the_stored_books_checks_and_ties_out(
        firm: tuple[Syncline, str]) -> None:
    system, _ = firm
    with system.engine.connect() as conn:
        entries = load_entries(conn)
        charts = charts_for(conn, system.ref, system.charts)
        exported = export_books(conn, "beancount", ref=system.ref, chart=system.charts)
    assert len(entries) > 10 and exported.ok
    bentries, errors, options = loader.load_string(exported.content["books.beancount"])
    assert errors == []
    txns = [e for e in bentries if type(e).__name__ == "Transaction"]
    assert len(txns) == len(entries)
    names = account_names(charts)
    assert isinstance(names, dict)
    conn = beanquery.connect("beancount:", entries=bentries, errors=errors, options=options)
    rows = conn.execute("SELECT account, currency, sum(number) AS total "
                        "GROUP BY account, currency").fetchall()
    theirs = {(acct, cur): total for acct, cur, total in rows if total != 0}
    ours = {(names[(r.entity_id, r.account)], r.currency): r.balance
            for r in trial_balance_of(entries).rows if r.balance != 0}
    assert theirs == ours and ours


def test_period_export_holds_only_that_month(firm: tuple[Syncline, str]) -> None:
    system, _ = firm
    with system.engine.connect() as conn:
        march = load_entries(conn, period="2026-03")
        exported = export_books(conn, "beancount", period="2026-03", entity="US01")
    bentries, errors, _ = loader.load_string(exported.content["books.beancount"])
    assert errors == []
    txns = [e for e in bentries if type(e).__name__ == "Transaction"]
    assert len(txns) == sum(1 for e in march if e.entity_id == "US01") > 0
    assert all(t.date.strftime("%Y-%m") == "2026-03" for t in txns)


def test_erp_exports_of_the_stored_books(firm: tuple[Syncline, str]) -> None:
    """Each ERP export holds every stored invoice once (as the vendor's document) and the
    summaries of the rest, balanced (tests/e2e/test_erp_file_exports.py checks the figures)."""
    system, _ = firm
    with system.engine.connect() as conn:
        ns, qbo, xero = (export_books(conn, fmt, ref=system.ref, chart=system.charts,
                                      vendors=system.export_vendors)
                         for fmt in ("netsuite-csv", "qbo", "xero"))
        numbers = sorted(conn.execute(select(invoices.c.number)).scalars())
    assert ns.ok and qbo.ok and xero.ok, (ns.errors, qbo.errors, xero.errors)
    rows = list(csv.DictReader(io.StringIO(ns.content["invoices.csv"])))
    assert sorted({r["External ID"] for r in rows}) == numbers
    journal = list(csv.DictReader(io.StringIO(ns.content["journal_entries.csv"])))
    by_id: dict[str, Decimal] = {}
    for r in journal:
        by_id[r["External ID"]] = by_id.get(r["External ID"], Decimal(0)) + Decimal(
            r["Debit"] or 0) - Decimal(r["Credit"] or 0)
    assert by_id and set(by_id.values()) == {Decimal(0)}
    assert {r["Subsidiary"] for r in journal} <= {e.name for e in system.ref.entities}
    bodies = json.loads(qbo.content["qbo.json"])
    assert sorted(b["DocNumber"] for entity in bodies.values()
                  for b in entity.get("Invoice", [])) == numbers
    orgs = json.loads(xero.content["xero.json"])
    for org in orgs.values():
        for mj in org.get("ManualJournals", {}).get("ManualJournals", []):
            assert sum(Decimal(str(ln["LineAmount"])) for ln in mj["JournalLines"]) == 0
    assert sorted(i["InvoiceNumber"] for org in orgs.values()
                  for i in org.get("Invoices", {}).get("Invoices", [])) == numbers


def test_reports_on_the_stored_books(firm: tuple[Syncline, str]) -> None:
    system, _ = firm
    with system.engine.connect() as conn:
        tb = build_report(conn, "trial-balance", "2026-03")
        entries = load_entries(conn, through="2026-03")
        recon = build_report(conn, "close-reconciliation", "2026-02")
        margin = build_report(conn, "margin", "2026-02")
        rpo = build_report(conn, "rpo", "2026-02")
    ours = {(r.entity_id, r.account, r.currency): r.balance
            for r in trial_balance_of(entries).rows}
    assert {(r[0], r[1], r[3]): r[6] for r in tb.tables[0].rows} == ours
    checks = {(row[0], row[1]): row[7] for row in recon.tables[0].rows}
    assert checks[("AR subledger = GL", "US01")] == "ok"
    assert checks[("invoiced items = invoice lines", "US01")] == "ok"
    assert {t.title.split(" 2026")[0] for t in margin.tables} == {
        "Margin by project", "Margin by service line"}
    project_rows, line_rows = margin.tables[0].rows, margin.tables[1].rows
    assert sum(Decimal(r[5]) for r in project_rows) == sum(Decimal(r[3]) for r in line_rows)
    assert rpo.tables[0].rows == () or rpo.notes


def test_cli_reports_exports_and_periods(firm: tuple[Syncline, str], tmp_path: Path) -> None:
    _, url = firm
    db = ["--database-url", url]
    r = runner.invoke(cli, ["report", "trial-balance", "--period", "2026-03", *db])
    assert r.exit_code == 0, r.output
    assert "Trial balance" in r.output and "Accounts receivable" in r.output
    r = runner.invoke(cli, ["report", "margin", "--period", "2026-02", "--format", "json", *db])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["tables"][0]["columns"][:2] == ["entity", "project"]
    r = runner.invoke(cli, ["report", "close-reconciliation", "--period", "2026-02",
                            "--format", "csv", "--entity", "US01", *db])
    assert r.exit_code == 0 and r.output.startswith("Close reconciliation 2026-02")
    xlsx = tmp_path / "tb.xlsx"
    r = runner.invoke(cli, ["report", "unbilled-aging", "--period", "2026-03", "--format",
                            "xlsx", "--out", str(xlsx), *db])
    assert r.exit_code == 0, r.output
    sheet = load_workbook(xlsx).worksheets[0]
    assert [c.value for c in sheet[1]][:2] == ["entity", "source"]
    r = runner.invoke(cli, ["report", "nope", "--period", "2026-03", *db])
    assert r.exit_code == 2
    out = tmp_path / "books.beancount"
    r = runner.invoke(cli, ["export", "beancount", "--out", str(out), *db])
    assert r.exit_code == 0, r.output
    assert loader.load_file(str(out))[1] == []
    r = runner.invoke(cli, ["period", "close", "--period", "2026-01", "--entity", "GB01", *db])
    assert r.exit_code == 0 and "GB01 2026-01: closed" in r.output
    r = runner.invoke(cli, ["period", "reopen", "--period", "2026-01", "--entity", "GB01", *db])
    assert r.exit_code == 2  # no reason
    r = runner.invoke(cli, ["period", "reopen", "--period", "2026-01", "--entity", "GB01",
                            "--role", "controller", "--reason", "late invoice", *db])
    assert r.exit_code == 2  # a role is not typed: the CLI acts as SYNCLINE_CLI_PRINCIPAL
    r = runner.invoke(cli, ["period", "reopen", "--period", "2026-01", "--entity", "GB01",
                            "--reason", "late invoice", *db])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["period", "list", "--json", *db])
    assert json.loads(r.output)[0]["status"] == "open"


def test_api_reports_exports_and_periods(firm: tuple[Syncline, str]) -> None:
    system, _ = firm
    with TestClient(create_app(system)) as http:
        assert http.get("/v1/reports/trial-balance?period=2026-03").status_code == 401
        r = http.get("/v1/reports/trial-balance?period=2026-03&entity=US01", headers=KEY)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["tables"][0]["columns"][0] == "entity"
        assert {row[0] for row in body["tables"][0]["rows"]} == {"US01"}
        assert http.get("/v1/reports/trial-balance?period=2026-3", headers=KEY
                        ).status_code == 422
        assert http.get("/v1/reports/nope?period=2026-03", headers=KEY).status_code == 404
        r = http.get("/v1/reports/margin?period=2026-02&format=csv", headers=KEY)
        assert r.status_code == 200 and r.text.startswith("Margin by project")
        r = http.get("/v1/exports/beancount?period=2026-02", headers=KEY)
        assert r.status_code == 200 and r.headers["X-Export-Errors"] == "0"
        assert loader.load_string(r.text)[1] == []
        r = http.get("/v1/exports/xero?include_errors=true", headers=KEY)
        assert r.json()["errors"] == [] and "ManualJournals" in r.json()["content"]
        assert r.json()["notes"]  # no Xero connector configured: Syncline's codes
        r = http.post("/v1/periods/DE01/2026-01/close", json={"role": "finance"}, headers=KEY)
        assert r.status_code == 422  # the role comes from the key, never from the body
        r = http.post("/v1/periods/DE01/2026-01/close", headers=KEY)
        assert r.status_code == 200 and r.json()["status"] == "closed"
        r = http.post("/v1/periods/DE01/2026-01/reopen", json={}, headers=KEY)
        assert r.status_code == 422  # reopening needs a reason
        r = http.post("/v1/periods/DE01/2026-01/open", headers=KEY)
        assert r.status_code == 409
        r = http.post("/v1/periods/DE01/2026-01/lock", json={"reason": "month end"},
                      headers=KEY)
        assert r.status_code == 200
        periods = http.get("/v1/periods?entity=DE01", headers=KEY).json()
        assert periods == [{**periods[0], "entity": "DE01", "period": "2026-01",
                            "status": "locked"}]
        history = http.get("/v1/periods?entity=DE01&history=true", headers=KEY).json()
        assert [h["action"] for h in history] == ["close", "lock"]
