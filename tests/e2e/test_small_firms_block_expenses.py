"""Two small firms, fed over HTTP and closed month by month (issue 9, Evidence): a prepaid block
of hours with overage (finding 10), and rebilled expenses with a markup and a credit note
with tax (findings 6 and 9).

Prepaid block (entity US01, USD, exempt): C-BLK buys 40 hours for 6,000.00 (150.00 an hour),
billed up front, drawn down across months, overage at 180.00 an hour; the shape finding 10
asks for, a retainer kind: line L1 ``retainer`` 6,000.00 and ``"retainer": {"kind":
"prepaid_block", "block_hours": "40", "overage_rate": "180.00"}``. Worker W-5, cost 70.00/h.
Time: T-B1 from 2026-01-20 15 h; T-B2 from 2026-02-17 20 h; T-B3 from 2026-03-16 10 h.

    Jan  billed the block 6,000.00; drawn 15 h → revenue 15 × 150 = 2,250.00
         balance 2,250 − 6,000 = −3,750.00; labor 15 × 70 = 1,050.00
    Feb  billed 0; drawn 20 h (35 of 40) → revenue 3,000.00; balance 5,250 − 6,000 = −750.00
         labor 1,400.00
    Mar  10 h: 5 h left in the block → 750.00 revenue from the block; 5 h overage × 180 =
         900.00 billed and recognized → revenue 1,650.00; balance 6,900 − 6,900 = 0
         labor 700.00

Expenses (entity US01, USD, tax US-NY-SVC 8.875 %): C-EXP consultant at 200.00/h, expenses
rebilled at cost + 10 %. Worker W-6, cost 90.00/h.

    Jan  T-E1 2026-01-14 5 h × 200 = 1,000.00; X-1 travel 2026-01-15 400.00 → 440.00;
         X-2 lodging 2026-01-16 250.00 → 275.00
         invoice subtotal 1,715.00; tax round(1,715 × 0.08875 = 152.20625) = 152.21;
         total 1,867.21; revenue 1,715.00 (rebilled expenses are revenue, finding 9)
         balance 0; labor 5 × 90 = 450.00
    Feb  X-2 rejected 2026-02-02 → credit note dated 2026-02-28: −275.00, tax
         −round(275 × 0.08875 = 24.40625) = −24.41, total −299.41
         T-E2 2026-02-10 3 h × 200 = 600.00; invoice 600.00 + tax 53.25 = 653.25
         revenue 600 − 275 = 325.00; net billed 1,715 + 600 − 275 = 2,040 = revenue to date
         → balance 0; labor 3 × 90 = 270.00
         AR at the end of February: 1,867.21 + 653.25 − 299.41 = 2,221.05
    Mar  nothing: 0 everywhere.

| contract | month | billed | credits | revenue | balance | write-off | labor |
|---|---|---|---|---|---|---|---|
| C-BLK | 2026-01 | 6,000.00 | 0 | 2,250.00 | −3,750.00 | 0 | 1,050.00 |
| C-BLK | 2026-02 | 0 | 0 | 3,000.00 | −750.00 | 0 | 1,400.00 |
| C-BLK | 2026-03 | 900.00 | 0 | 1,650.00 | 0 | 0 | 700.00 |
| C-EXP | 2026-01 | 1,715.00 | 0 | 1,715.00 | 0 | 0 | 450.00 |
| C-EXP | 2026-02 | 600.00 | 275.00 (tax 24.41) | 325.00 | 0 | 0 | 270.00 |
| C-EXP | 2026-03 | 0 | 0 | 0 | 0 | 0 | 0 |
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from syncline.adapters.db.billing_tables import credit_notes
from syncline.adapters.db.tables import invoice_lines, invoices
from tests.e2e.firms import (
    D,
    Firm,
    Month,
    deal,
    expense,
    reject_expense,
    row,
    time_,
    timesheet,
    worker,
)

MONTHS = ("2026-01", "2026-02", "2026-03")
BLOCK = {"2026-01": row("6000.00", 0, "2250.00", "-3750.00", 0, "1050.00"),
         "2026-02": row(0, 0, "3000.00", "-750.00", 0, "1400.00"),
         "2026-03": row("900.00", 0, "1650.00", 0, 0, "700.00")}
EXPENSES = {"2026-01": row("1715.00", 0, "1715.00", 0, 0, "450.00"),
            "2026-02": row("600.00", "275.00", "325.00", 0, 0, "270.00"),
            "2026-03": row(0, 0, 0, 0, 0, 0)}


class Quarter:
    def __init__(self, firm: Firm, contract: str) -> None:
        self.firm, self.contract = firm, contract
        self.at_close: dict[str, dict[str, Month]] = {contract: {}}

    def close(self, period: str) -> None:
        self.firm.close(period)
        self.at_close[self.contract][period] = self.firm.month(self.contract, period)

    def table(self) -> dict[str, tuple[D, ...]]:  # type: ignore[valid-type]
        return {p: m.row() for p, m in self.at_close[self.contract].items()}


def run_block(firm: Firm) -> Quarter:
    q = Quarter(firm, "C-BLK")
    firm.post(deal("C-BLK", kind="retainer", amount="6000.00", rate="150.00",
                   template="managed_service",
                   terms={"retainer": {"kind": "prepaid_block", "timing": "advance",
                                       "block_hours": "40", "overage_rate": "180.00"}}),
              worker("W-5", cost="70.00"),
              *timesheet("T-B1", "C-BLK", "2026-01-20", 15, worker_id="W-5"))
    q.close("2026-01")
    firm.post(*timesheet("T-B2", "C-BLK", "2026-02-17", 20, worker_id="W-5"))
    q.close("2026-02")
    firm.post(*timesheet("T-B3", "C-BLK", "2026-03-16", 10, worker_id="W-5"))
    q.close("2026-03")
    return q


def run_expenses(firm: Firm) -> Quarter:
    q = Quarter(firm, "C-EXP")
    firm.post(deal("C-EXP", rate="200.00", tax="US-NY-SVC",
                   terms={"expenses": {"policy": "markup", "markup_percent": "10"}}),
              worker("W-6", cost="90.00"),
              time_("T-E1", "C-EXP", "2026-01-14", "5", worker_id="W-6"),
              expense("X-1", "C-EXP", "2026-01-15", "400.00", worker_id="W-6"),
              expense("X-2", "C-EXP", "2026-01-16", "250.00", worker_id="W-6",
                      category="lodging"))
    q.close("2026-01")
    firm.post(reject_expense("X-2", "2026-02-02"),
              time_("T-E2", "C-EXP", "2026-02-10", "3", worker_id="W-6"))
    q.close("2026-02")
    q.close("2026-03")
    return q


@pytest.fixture(scope="module")
def block(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quarter]:
    firm = Firm(tmp_path_factory.mktemp("blk"))
    try:
        yield run_block(firm)
    finally:
        firm.dispose()


@pytest.fixture(scope="module")
def rebilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quarter]:
    firm = Firm(tmp_path_factory.mktemp("exp"))
    try:
        yield run_expenses(firm)
    finally:
        firm.dispose()


# --- prepaid block --------------------------------------------------------------------------

def test_prepaid_block_bills_up_front_and_overage_when_drawn_out(block: Quarter) -> None:
    """C-BLK billed 6,000.00 / 0 / 900.00."""
    assert [m.billed for m in block.at_close["C-BLK"].values()] == [
        D("6000.00"), 0, D("900.00")]


def test_prepaid_block_is_recognized_as_hours_are_drawn(block: Quarter) -> None:
    """C-BLK revenue 2,250.00 / 3,000.00 / 1,650.00; balance −3,750.00 / −750.00 / 0."""
    assert block.table() == BLOCK


def test_prepaid_block_labor_cost(block: Quarter) -> None:
    """15 / 20 / 10 h × 70 = 1,050.00 / 1,400.00 / 700.00."""
    assert [m.labor_cost for m in block.at_close["C-BLK"].values()] == [
        D("1050.00"), D("1400.00"), D("700.00")]


# --- rebilled expenses and a credit note with tax -------------------------------------------

def test_expenses_rebilled_with_markup_and_taxed_once(rebilled: Quarter) -> None:
    """January's invoice: 1,000.00 time + 440.00 + 275.00 expenses = 1,715.00, tax 152.21,
    total 1,867.21."""
    with rebilled.firm.system.engine.connect() as conn:
        inv = conn.execute(select(invoices).where(invoices.c.period == "2026-01")).one()
        amounts = sorted(conn.execute(select(invoice_lines.c.amount).where(
            invoice_lines.c.invoice_number == inv.number)).scalars())
    assert (inv.subtotal, inv.tax, inv.total) == (D("1715.00"), D("152.21"), D("1867.21"))
    assert sum(amounts) == D("1715.00") and D("1000.00") in amounts


def test_credit_note_takes_back_the_expense_with_its_tax(rebilled: Quarter) -> None:
    """X-2 rejected after invoicing: credit note −275.00, tax −24.41, total −299.41, dated
    2026-02-28; February also bills T-E2 600.00 (+ 53.25 tax)."""
    with rebilled.firm.system.engine.connect() as conn:
        (note,) = conn.execute(select(credit_notes)).all()
        feb = conn.execute(select(invoices).where(invoices.c.period == "2026-02")).one()
    assert (note.credit_date, note.subtotal, note.tax, note.total) == (
        "2026-02-28", D("-275.00"), D("-24.41"), D("-299.41"))
    assert (feb.subtotal, feb.tax, feb.total) == (D("600.00"), D("53.25"), D("653.25"))
    m = rebilled.at_close["C-EXP"]["2026-02"]
    assert (m.billed, m.credits, m.credit_tax) == (D("600.00"), D("275.00"), D("24.41"))


def test_expense_firm_labor_cost(rebilled: Quarter) -> None:
    assert [m.labor_cost for m in rebilled.at_close["C-EXP"].values()] == [
        D("450.00"), D("270.00"), 0]


def test_rebilled_expenses_are_revenue(rebilled: Quarter) -> None:
    """January revenue 1,715.00, balance 0."""
    jan = rebilled.at_close["C-EXP"]["2026-01"]
    assert (jan.revenue, jan.balance) == (D("1715.00"), 0)


def test_expense_firm_quarter_table(rebilled: Quarter) -> None:
    assert rebilled.table() == EXPENSES


def test_expense_firm_january_locks(rebilled: Quarter) -> None:
    rebilled.firm.assert_locked("2026-01")


def test_months_with_a_taxed_credit_note_lock(rebilled: Quarter) -> None:
    """February's AR: 1,867.21 + 653.25 − 299.41 = 2,221.05 in the subledger and the GL."""
    rebilled.firm.assert_locked("2026-02")
    rebilled.firm.assert_locked("2026-03")
