"""Ledger reports and the close reconciliation on a small, known firm: every difference is
listed by cause and object, and margin is derived from time, cost rates and invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncline.bootstrap import Syncline
from syncline.services.billing.run import run_billing
from syncline.services.ledger.periods import change_period
from syncline.services.ledger.reports import Report, build_report
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, time_entry, worker
from tests.conftest import FIXED_NOW, fixed_clock


def feed(system: Syncline, *events: dict[str, object]) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=FIXED_NOW)
    system.process()


def bill(system: Syncline, period: str) -> None:
    run_billing(system.engine, period, system.ref, system.charts, fixed_clock())


def report(system: Syncline, name: str, period: str, entity: str | None = None) -> Report:
    with system.engine.connect() as conn:
        return build_report(conn, name, period, entity=entity)


def rows(r: Report, index: int = 0) -> list[dict[str, Any]]:
    return r.tables[index].as_dicts()


def firm(system: Syncline) -> None:
    feed(system, deal(), worker("W-1", cost="80.00"),
         worker("W-2", cost="60.00", effective="2026-02-01"),
         time_entry("T-1", hours="8", day="2026-01-05"),
         time_entry("T-2", hours="2", day="2026-01-05", task="9"),  # internal: not billable
         time_entry("T-3", worker_id="W-2", hours="4", day="2026-01-06"))  # no cost rate yet
    bill(system, "2026-01")


def test_margin_by_project_and_service_line(system: Syncline) -> None:
    firm(system)
    r = report(system, "margin", "2026-01")
    (project,) = rows(r, 0)
    assert project["project"] == "P-1" and project["currency"] == "USD"
    assert project["revenue"] == Decimal("2400.00")  # (8 + 4) h × 200
    assert project["cost"] == Decimal("800.00")  # (8 + 2) h × 80; W-2 has no rate yet
    assert project["margin"] == Decimal("1600.00") and project["margin_pct"] == Decimal("66.7")
    (line,) = rows(r, 1)
    assert (line["service_line"], line["revenue"], line["cost"]) == (
        project["service_line"], Decimal("2400.00"), Decimal("800.00"))
    assert any("no cost rate" in n for n in r.notes)


def test_reconciliation_lists_differences_by_cause_and_object(system: Syncline) -> None:
    firm(system)
    feed(system, time_entry("T-5", hours="3", day="2026-01-20"))  # late: after the Jan run
    r = report(system, "close-reconciliation", "2026-01")
    checks = {c["check"]: c for c in rows(r, 0)}
    hours = checks["approved = costed hours"]
    assert (hours["expected"], hours["actual"], hours["status"]) == (
        Decimal("17"), Decimal("13"), "differences")
    billable = checks["approved billable = billable hours"]
    assert (billable["expected"], billable["actual"]) == (Decimal("15"), Decimal("15"))
    assert checks["invoiced items = invoice lines"]["status"] == "ok"
    assert checks["AR subledger = GL"]["status"] == "ok"
    unbilled = checks["unbilled subledger = GL"]
    assert (unbilled["expected"], unbilled["actual"]) == (Decimal("600.00"), Decimal(0))
    diffs = {(d["cause"], d["object"], d["id"]) for d in rows(r, 1)}
    assert diffs == {("no_cost_rate", "time_entry", "T-3"),
                     ("unbilled_not_accrued", "contract", "C-1"),
                     ("cost_not_posted", "entity", "US01")}  # T-5 came after the cost entry
    labor = checks["costed time = GL labor cost"]
    assert (labor["expected"], labor["actual"]) == (Decimal("1040.00"), Decimal("800.00"))
    assert checks["revenue schedules = GL revenue"]["status"] == "skipped"


def test_refused_posting_shows_in_the_reconciliation(system: Syncline) -> None:
    firm(system)
    with system.engine.begin() as conn:
        change_period(conn, "US01", "2026-02", "close", actor="cfo", role="finance",
                      now=FIXED_NOW)
    feed(system, time_entry("T-4", hours="5", day="2026-02-03"))
    bill(system, "2026-02")
    r = report(system, "close-reconciliation", "2026-02", entity="US01")
    checks = {c["check"]: c for c in rows(r, 0)}
    ar = checks["AR subledger = GL"]
    assert ar["expected"] - ar["actual"] == Decimal("1000.00") and ar["status"] == "differences"
    diffs = [d for d in rows(r, 1) if d["check"] == "AR subledger = GL"]
    assert [(d["cause"], d["object"]) for d in diffs] == [("invoice_not_posted", "invoice")]
    excs = rows(r, 2)
    assert {e["code"] for e in excs} == {"ledger.period_closed"}
    assert checks["open critical exceptions"]["status"] == "differences"


def test_ledger_reports_from_the_stored_entries(system: Syncline) -> None:
    firm(system)
    feed(system, time_entry("T-6", hours="1", day="2026-02-10"))
    bill(system, "2026-02")
    tb = rows(report(system, "trial-balance", "2026-02"))
    assert sum(r["balance"] for r in tb) == 0
    ar = next(r for r in tb if r["account"] == "1100")
    assert ar["balance"] == Decimal("2600.00")
    jan_only = {r["account"]: r["balance"] for r in rows(report(system, "trial-balance",
                                                                "2026-01"))}
    assert jan_only["1100"] == Decimal("2400.00")
    waterfall = report(system, "revenue-waterfall", "2026-02")
    assert waterfall.tables[0].columns[3:] == ("2026-01", "2026-02", "total")
    (rev,) = rows(waterfall)
    assert (rev["2026-01"], rev["2026-02"], rev["total"]) == (
        Decimal("2400.00"), Decimal("200.00"), Decimal("2600.00"))
    assert rows(report(system, "deferred-revenue", "2026-02")) == []
    rpo = report(system, "rpo", "2026-02")
    assert rows(rpo) == [] and "No revenue schedules" in rpo.notes[0]
    assert rows(report(system, "unbilled-aging", "2026-02")) == []
