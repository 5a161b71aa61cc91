"""Closed periods do not change (docs/ledger.md): a late change lands in the open period where
it is recorded, and a closed month's reports read as its close reported them — or, asked
for, as known now.

The firm (on-invoice and revenue-engine modes): contract C-1 (US01, USD, T&M, consultant at
200.00/h), worker W-1 at 80.00/h cost.

- January: T-1 8 h (2026-01-05) and T-2 8 h (2026-01-06): invoice 3,200.00; labor cost
  16 h x 80.00 = 1,280.00. January closes and locks.
- February: the PSA rejects T-2 (2026-02-03). February has no time of its own.
  Its close posts, dated 2026-02-28: the credit note -1,600.00 (8 h x 200.00) and the late
  labor cost of January, 640.00 (8 h x 80.00) reversed (Cr labor cost, source
  ``labor:US01:USD:2026-01:late:2026-02``). Nothing is dated in January any more.
- January's reports as reported at its close are byte-identical after February: margin cost
  1,280.00. As known now, January's cost is 8 h x 80.00 = 640.00 and the reconciliation
  shows the change (`changed_after_close`).
- February's margin carries the change: revenue -1,600.00, cost -640.00, margin -960.00.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from syncline.adapters.db.ledger_tables import report_snapshots
from syncline.adapters.db.tables import journal_entries, journal_lines
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.close import steps as close
from syncline.services.ledger.periods import change_period
from syncline.services.ledger.reports import REPORTS, report_csv, report_json, report_options
from syncline.services.ledger.reports.snapshots import SNAPSHOT_REPORTS
from tests.builders import time_entry
from tests.conftest import fixed_clock
from tests.services.test_close_credit_notes import (
    close_month,
    ingest,
    january_then_rejection,
    not_agreeing,
)


def rendered(system: Syncline, period: str, as_of: str = "close") -> dict[str, str]:
    """Every report of the period, as JSON and CSV text."""
    out = {}
    with system.engine.connect() as conn:
        for name in REPORTS:
            made = report_options(system).build(conn, name, period, as_of=as_of)
            out[f"{name}.json"] = report_json(made)
            out[f"{name}.csv"] = report_csv(made)
    return out


def journal(system: Syncline) -> list[tuple[str, str, str, str, str]]:
    """(posting date, source id, account, side, amount) of every journal line."""
    with system.engine.connect() as conn:
        return sorted((r.posting_date, r.source_id, r.account, r.side, f"{r.amount:.2f}")
                      for r in conn.execute(select(
                          journal_entries.c.posting_date, journal_entries.c.source_id,
                          journal_lines.c.account, journal_lines.c.side, journal_lines.c.amount)
                          .join(journal_lines)))


def margin_row(system: Syncline, period: str, as_of: str = "close") -> dict[str, Any]:
    with system.engine.connect() as conn:
        (row,) = report_options(system).build(conn, "margin", period,
                                              as_of=as_of).tables[0].as_dicts()
    return row


@pytest.fixture(params=["on_invoice", "engine"])
def system(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}",
                              revenue_recognition=request.param, api_keys="p-key"),
                     clock=fixed_clock, durable=False)
    yield made
    made.engine.dispose()


def test_a_late_change_lands_in_the_open_period_and_the_closed_month_stays_reported(
        system: Syncline) -> None:
    january_then_rejection(system)  # January closed and locked; T-2 rejected in February
    before = rendered(system, "2026-01")
    january_lines = [ln for ln in journal(system) if ln[0] <= "2026-01-31"]

    feb = close_month(system, "2026-02")

    assert feb["lock"]["US01"] == "locked", not_agreeing(feb)
    # nothing about January changed: its journal, and every report as reported at its close
    assert [ln for ln in journal(system) if ln[0] <= "2026-01-31"] == january_lines
    assert rendered(system, "2026-01") == before
    assert margin_row(system, "2026-01")["cost"] == Decimal("1280.00")
    # the change's ledger effect is in February
    late = [ln for ln in journal(system) if ln[1] == "labor:US01:USD:2026-01:late:2026-02"]
    assert late == [("2026-02-28", "labor:US01:USD:2026-01:late:2026-02", "2100", "debit",
                     "640.00"),
                    ("2026-02-28", "labor:US01:USD:2026-01:late:2026-02", "5000", "credit",
                     "640.00")]
    assert [ln for ln in journal(system) if ln[1] == "US01-CN-2026-000001"
            and ln[2] == "1100"] == [
        ("2026-02-28", "US01-CN-2026-000001", "1100", "credit", "1600.00")]
    feb_margin = margin_row(system, "2026-02")
    assert (feb_margin["revenue"], feb_margin["cost"], feb_margin["margin"]) == (
        Decimal("-1600.00"), Decimal("-640.00"), Decimal("-960.00"))
    # as known now, January shows the change
    now = margin_row(system, "2026-01", as_of="now")
    assert (now["hours"], now["cost"]) == (Decimal("8"), Decimal("640.00"))
    with system.engine.connect() as conn:
        recon = report_options(system).build(conn, "close-reconciliation", "2026-01",
                                             as_of="now")
    labor = [d for d in recon.tables[1].as_dicts() if d["check"] == "costed time = GL labor cost"]
    assert [(d["cause"], d["expected"], d["actual"]) for d in labor] == [
        ("changed_after_close", Decimal("640.00"), Decimal("1280.00"))]
    assert rendered(system, "2026-01", as_of="now") != before
    # a second close of February posts nothing more
    again = close.accrual(system, "2026-02", None)
    assert again["late_labor_cost"]["journal_entries"] == 0
    # each close recorded its reports once, for the firm and for each entity
    with system.engine.connect() as conn:
        recorded = conn.execute(select(report_snapshots.c.period, report_snapshots.c.scope,
                                       report_snapshots.c.report,
                                       report_snapshots.c.version)).all()
    assert sorted(recorded) == sorted(
        (p, scope, name, 1) for p in ("2026-01", "2026-02")
        for scope in ("*", "DE01", "GB01", "US01") for name in SNAPSHOT_REPORTS)


def test_the_reported_month_is_read_only_while_it_is_closed(system: Syncline) -> None:
    """February is closed (not locked) with its -640.00 of January's late cost. Then T-3
    (2 h on 2026-01-20, 160.00 of cost) is approved late for January: February as reported
    stays at -640.00, as known now it is -480.00. Reopened, February is being changed, so
    its report is as known now until its next close records it again."""
    january_then_rejection(system)
    for _, step in close.LEDGER_STEPS:
        step(system, "2026-02", None)
    close.close_and_lock(system, "2026-02", None, actor="controller", lock=False)
    ingest(system, time_entry("T-3", hours="2", day="2026-01-20"))

    assert margin_row(system, "2026-02")["cost"] == Decimal("-640.00")
    assert margin_row(system, "2026-02", as_of="now")["cost"] == Decimal("-480.00")
    with system.engine.begin() as conn:
        change_period(conn, "US01", "2026-02", "reopen", actor="c", role="controller",
                      reason="late time", now=fixed_clock())
    assert margin_row(system, "2026-02")["cost"] == Decimal("-480.00")


def test_reports_as_reported_and_as_known_now_over_http_and_cli(system: Syncline) -> None:
    january_then_rejection(system)
    close_month(system, "2026-02")
    with TestClient(create_app(system)) as http:
        key = {"X-API-Key": "p-key"}
        reported = http.get("/v1/reports/margin?period=2026-01", headers=key).json()
        explicit = http.get("/v1/reports/margin?period=2026-01&as_of=close", headers=key)
        known = http.get("/v1/reports/margin?period=2026-01&as_of=now", headers=key).json()
        bad = http.get("/v1/reports/margin?period=2026-01&as_of=later", headers=key)
    assert explicit.json() == reported and bad.status_code == 422
    cost = reported["tables"][0]["columns"].index("cost")
    assert (reported["tables"][0]["rows"][0][cost], known["tables"][0]["rows"][0][cost]) == (
        "1280.00", "640.00")
