"""The ar-aging report (issue 13): receivables by customer and days past due, and DSO.
Figures computed by hand:

C-1 (USD, US01, tax exempt, net 30): 6 h × 200.00 = 1,200.00 invoiced 2026-01-31
(US01-2026-000001), due 2026-03-02 (30 days). Paid 500.00 on 2026-02-10.
- at 2026-02-28: open 700.00, not yet due → ``current``; DSO = 700.00 ÷ 1,200.00 invoiced in
  Dec..Feb × 90 days (2025-12-01..2026-02-28) = 52.5.
- at 2026-04-30: still 700.00, 59 days past due → ``31-60``; invoiced in Feb..Apr = 0 →
  DSO n/a.
"""

from __future__ import annotations

from decimal import Decimal

from syncline.bootstrap import Syncline
from syncline.services.ledger.reports import build_report
from tests.services.test_billing_wiring import ingest, run
from tests.services.test_payments import january_invoice, payment


def tables(system: Syncline, period: str) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    with system.engine.connect() as conn:
        report = build_report(conn, "ar-aging", period, as_of="now")
    aging, dso = report.tables
    return aging.as_dicts(), dso.as_dicts()


def test_aging_buckets_and_dso_by_hand(system: Syncline) -> None:
    number = january_invoice(system)
    ingest(system, payment("PAY-1", number, "500.00", "2026-02-10"))
    run(system, "2026-02")
    aging, dso = tables(system, "2026-02")
    [row] = aging
    assert row["entity"] == "US01" and row["currency"] == "USD"
    assert Decimal(row["current"]) == Decimal("700.00") and Decimal(row["total"]) == Decimal(
        "700.00")
    assert [(d["ar"], d["invoiced"], d["days"], d["dso"]) for d in dso] == [
        (Decimal("700.00"), Decimal("1200.00"), "90", Decimal("52.5"))]
    aging, dso = tables(system, "2026-04")
    [row] = aging
    assert Decimal(row["31-60"]) == Decimal("700.00") and Decimal(row["current"]) == 0
    assert dso[0]["dso"] == "n/a"


def test_a_fully_paid_invoice_is_not_open(system: Syncline) -> None:
    number = january_invoice(system)
    ingest(system, payment("PAY-1", number, "1200.00", "2026-02-10"))
    aging, _ = tables(system, "2026-02")
    assert aging == []
    aging, _ = tables(system, "2026-01")  # before the payment: all of it, not yet due
    assert [Decimal(r["current"]) for r in aging] == [Decimal("1200.00")]
