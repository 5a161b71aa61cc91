"""The close reconciliation's stated rules (docs/ledger.md, "Rules at the seams"), each on a
small firm worked out by hand: contract C-1 (US01, USD, time and materials, consultant at
200.00/h), worker W-1 at 80.00/h cost.

- (i) a report built by an entry point uses the ledger configuration the close uses;
- (ii) the PSA's word on a time entry is its last applied approval;
- (iii) a check's listed differences sum to its gap;
- (iv) an AR posting without its document keeps its entity;
- (v) a zero amount has no sign.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from syncline.adapters.db.billing_tables import credit_notes
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app as cli
from syncline.config import Settings
from syncline.ledger.carried import Books
from syncline.services.close import steps as close
from syncline.services.ledger.queries import charts_for, load_entries
from syncline.services.ledger.reconciliation import close_reconciliation
from syncline.services.ledger.reconciliation.core import Recon
from syncline.services.ledger.reconciliation.revenue import contract_positions_vs_gl
from syncline.services.ledger.reports import Report
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock
from tests.services.test_close_credit_notes import (
    close_month,
    ingest,
    january_then_rejection,
    make_system,
)
from tests.services.test_intercompany_fx import eur_contract_of_us01, rate

KEY = {"X-API-Key": "rules-key"}


@pytest.fixture
def on_invoice(tmp_path: Path) -> Iterator[Syncline]:
    system = make_system(tmp_path, "on_invoice")
    yield system
    system.engine.dispose()


@pytest.fixture
def engine_mode(tmp_path: Path) -> Iterator[Syncline]:
    system = make_system(tmp_path, "engine")
    yield system
    system.engine.dispose()


def recon(system: Syncline, period: str, entity: str | None = None) -> Report:
    with system.engine.connect() as conn:
        return close_reconciliation(conn, period, entity=entity, ref=system.ref,
                                    chart=system.charts,
                                    revenue_mode=system.settings.revenue_recognition,
                                    revaluation=system.ledger.fx_revaluation,
                                    functional=system.ledger.functional_currencies)


def summary(report: Report | dict[str, Any], check: str) -> list[dict[str, Any]]:
    if isinstance(report, Report):
        return [r for r in report.tables[0].as_dicts() if r["check"] == check]
    table = report["tables"][0]
    return [r for r in (dict(zip(table["columns"], row, strict=True)) for row in table["rows"])
            if r["check"] == check]


def diffs(report: Report, check: str) -> list[dict[str, Any]]:
    return [d for d in report.tables[1].as_dicts() if d["check"] == check]


# --- (i) ------------------------------------------------------------------------------------

def test_the_reports_entry_points_use_the_closes_revaluation_policy(tmp_path: Path) -> None:
    """3,200.00 EUR invoiced by US01 at 1.08 (3,456.00 USD); the closing rate is 1.10, so the
    receivable should be carried at 3,520.00 USD and is not revalued yet. The close's
    reconciliation says so; the report over HTTP and from the CLI must say the same, not skip
    the check and print "All checks agree"."""
    url = f"sqlite:///{tmp_path / 'fx.db'}"
    system = bootstrap(Settings(database_url=url, api_keys="rules-key"), clock=fixed_clock,
                       durable=False)
    try:
        eur_contract_of_us01(system)
        rate(system, "EUR", "USD", "2026-01-02", "1.08")
        close.billing(system, "2026-01", None)
        rate(system, "EUR", "USD", "2026-01-31", "1.10")
        at_close = close.reconciliation(system, "2026-01", None)["report"]
        (reval,) = summary(at_close, "foreign balances revalued at closing rate")
        assert (reval["expected"], reval["actual"], reval["status"]) == (
            "3520.00", "3456.00", "differences")
        with TestClient(create_app(system)) as http:
            r = http.get("/v1/reports/close-reconciliation?period=2026-01", headers=KEY)
        assert r.status_code == 200, r.text
        assert r.json() == at_close
        printed = CliRunner().invoke(cli, ["report", "close-reconciliation", "--period",
                                           "2026-01", "--format", "json",
                                           "--database-url", url])
        assert printed.exit_code == 0, printed.output
        assert json.loads(printed.stdout) == at_close
    finally:
        system.engine.dispose()


# --- (ii) -----------------------------------------------------------------------------------

def test_psa_hours_are_the_last_applied_approval_of_each_time_entry(on_invoice: Syncline
                                                                    ) -> None:
    """T-1 is first approved with 8 h on task X, which is not in the project's WBS (the
    message fails); the PSA corrects it and approves 6 h on task 1 (applied, 6 h recorded).
    The PSA's word is 6 h: expected 6 = recorded 6, no difference."""
    ingest(on_invoice, deal(), worker(), time_entry("T-1", hours="8", task="X"),
           time_entry("T-1", hours="6"))

    report = recon(on_invoice, "2026-01")

    (row,) = summary(report, "PSA approved = recorded hours")
    assert (row["expected"], row["actual"], row["status"]) == (
        Decimal("6"), Decimal("6"), "ok")
    assert diffs(report, "PSA approved = recorded hours") == []


# --- (iii) ----------------------------------------------------------------------------------

def test_unbilled_differences_sum_to_the_gap(on_invoice: Syncline) -> None:
    """T-1 8 h x 200.00 = 1,600.00 is accrued at 2026-01-31 (GL unbilled 1,600.00); T-2
    4 h x 200.00 = 800.00 on 2026-01-20 arrives after the accrual: the subledger holds
    2,400.00, the GL 1,600.00, a gap of -800.00. Listed: contract C-1 2,400.00 in the
    subledger (none of the GL's accrual is by contract) and the GL's 1,600.00 accrued by
    entity, currency and service line: (0 - 2,400.00) + (1,600.00 - 0) = -800.00."""
    ingest(on_invoice, deal(), worker(), time_entry("T-1"))
    close.accrual(on_invoice, "2026-01", None)
    ingest(on_invoice, time_entry("T-2", hours="4", day="2026-01-20"))

    report = recon(on_invoice, "2026-01")

    (row,) = summary(report, "unbilled subledger = GL")
    assert (row["expected"], row["actual"], row["difference"]) == (
        Decimal("2400.00"), Decimal("1600.00"), Decimal("-800.00"))
    listed = diffs(report, "unbilled subledger = GL")
    assert sum(d["difference"] for d in listed) == row["difference"]
    assert [(d["cause"], d["object"], d["id"], d["expected"], d["actual"]) for d in listed] == [
        ("amount_differs", "contract", "C-1", Decimal("2400.00"), Decimal("0")),
        ("gl_not_by_contract", "account", "unbilled_receivable", Decimal("0"),
         Decimal("1600.00"))]


def test_contract_position_differences_sum_to_the_gap(engine_mode: Syncline) -> None:
    """Engine mode: T-1 8 h x 200.00 = 1,600.00 recognized in January (right to invoice), not
    invoiced: contract C-1 holds a contract asset of 1,600.00, posted by its true-up. Leave
    the true-up out of the GL and the unbilled check's gap is -1,600.00: the contract's
    1,600.00 against the 0 the GL holds for it, and nothing else."""
    ingest(engine_mode, deal(), worker(), time_entry("T-1", day="2026-01-30"))
    close.recognition(engine_mode, "2026-01", None)
    rec = Recon()
    with engine_mode.engine.connect() as conn:
        entries = [e for e in load_entries(conn, through="2026-01")
                   if e.source_type != "revenue"]
        contract_positions_vs_gl(conn, rec, "2026-01", Books(entries=tuple(entries)),
                                 charts_for(conn, engine_mode.ref, engine_mode.charts), None)
    unbilled = [c for c in rec.checks if c[0] == "unbilled subledger = GL"]
    assert [(c[3], c[4], c[5]) for c in unbilled] == [
        (Decimal("1600.00"), Decimal(0), Decimal("-1600.00"))]
    listed = [d for d in rec.diffs if d[0] == "unbilled subledger = GL"]
    assert [(d[1], d[3], d[6], d[7]) for d in listed] == [
        ("contract_asset", "C-1", Decimal("1600.00"), Decimal(0))]
    assert sum(d[8] for d in listed) == Decimal("-1600.00")  # type: ignore[misc]


# --- (iv) -----------------------------------------------------------------------------------

def test_a_credit_note_posting_without_its_invoice_keeps_its_entity(on_invoice: Syncline
                                                                    ) -> None:
    """The credit note of February (-1,600.00) names an invoice the subledger does not hold
    (US01-2026-999999). Its AR posting (Cr 1,600.00) is listed for US01 — it used to get
    entity "" and vanish from US01's report — and the differences sum to the gap."""
    january_then_rejection(on_invoice)
    close.billing(on_invoice, "2026-02", None)
    with on_invoice.engine.begin() as conn:
        conn.execute(update(credit_notes).values(invoice_number="US01-2026-999999"))

    report = recon(on_invoice, "2026-02", entity="US01")

    listed = diffs(report, "AR subledger = GL")
    assert ("posting_without_invoice", "invoice:US01-2026-999999", "US01", Decimal("-1600.00")
            ) in [(d["cause"], d["id"], d["entity"], d["actual"]) for d in listed]
    (row,) = summary(report, "AR subledger = GL")
    assert sum(d["difference"] for d in listed) == row["difference"]


# --- (v) ------------------------------------------------------------------------------------

def test_a_zero_amount_is_shown_without_sign(engine_mode: Syncline) -> None:
    """Engine mode: January's 3,200.00 invoice is all recognized, so the contract liability
    nets to zero; shown credit-positive it was the negated zero "-0.00"."""
    ingest(engine_mode, deal(), worker(), time_entry("T-1"),
           time_entry("T-2", day="2026-01-06"))
    close_month(engine_mode, "2026-01")

    report = recon(engine_mode, "2026-01")

    (deferred,) = summary(report, "deferred subledger = GL")
    assert deferred["actual"] == Decimal(0) and not deferred["actual"].is_signed()
    cells = [c for t in report.tables for row in t.rows for c in row]
    assert not [c for c in cells if isinstance(c, Decimal) and c.is_zero() and c.is_signed()]
    assert '"-0' not in json.dumps(report.as_dict())
