"""A small firm on fixed fees billed by milestones and measured by hours or by cost, fed over
HTTP for a quarter and closed month by month (issue 9, Evidence; finding 3).

Entity US01, USD, tax exempt; contracts 2026-01-01 … 2026-12-31. Billing by milestones and
recognition over time by an input measure are chosen independently per line: the line says
``"recognition": "hours"`` or ``"recognition": "cost_to_cost"`` (finding 3: "billing method
and recognition method chosen independently per contract line"); the estimate is revised by
an ``estimate.revised`` event.

- C-FFH: fixed fee 12,000.00, milestones M-H1 "Design" 4,000.00 and M-H2 "Go-live"
  8,000.00; estimated 100 hours; recognized by hours. Worker W-3, cost 60.00/h.
- C-FFC: fixed fee 20,000.00, milestones M-C1 "Phase 1" 10,000.00 and M-C2 "Phase 2"
  10,000.00; estimated cost 10,000.00; recognized by cost. Worker W-4, cost 100.00/h.

Events (time in entries of at most 10 h a day from the date given, `firms.timesheet`):
January T-FH1 from 2026-01-14 30 h, M-H1 accepted 2026-01-28, T-FC1 from 2026-01-13 20 h;
February T-FH2 from 2026-02-12 40 h, T-FC2 from 2026-02-16 30 h, M-C1 accepted 2026-02-20;
March T-FH3 from 2026-03-11 30 h, M-H2 accepted 2026-03-25, T-FC3 from 2026-03-10 25 h.

Hand computation, C-FFH (revenue = 12,000 × hours to date / 100, cumulative, half-up):

    Jan  billed M-H1 4,000.00; hours 30 → 30 % → revenue 3,600.00
         balance 3,600 − 4,000 = −400.00 (liability); labor 30 × 60 = 1,800.00
    Feb  billed 0; hours 70 → 8,400 → revenue 4,800.00; balance 8,400 − 4,000 = +4,400.00
         labor 40 × 60 = 2,400.00
    Mar  billed M-H2 8,000.00; hours 100 → 12,000 → revenue 3,600.00
         balance 12,000 − 12,000 = 0; labor 30 × 60 = 1,800.00

Hand computation, C-FFC (revenue = 20,000 × cost to date / 10,000):

    Jan  cost 20 × 100 = 2,000 → 20 % → revenue 4,000.00; billed 0; balance +4,000.00
         labor 2,000.00
    Feb  cost 5,000 → 50 % → 10,000 → revenue 6,000.00; billed M-C1 10,000.00
         balance 10,000 − 10,000 = 0; labor 3,000.00
    Mar  cost 7,500 → 75 % → 15,000 → revenue 5,000.00; billed 0; balance +5,000.00
         labor 2,500.00

The estimate revision (C-FFR, its own firm below): as C-FFC, but an ``estimate.revised``
effective 2026-02-01 raises the estimated cost to 12,500.00:

    Jan  2,000 / 10,000 = 20 % → 4,000.00; balance +4,000.00
    Feb  at 2026-02-01: 2,000 / 12,500 = 16 % → 3,200 → catch-up 3,200 − 4,000 = −800.00,
         labelled as an estimate change; February's cost 3,000 / 12,500 × 20,000 = 4,800;
         cumulative 5,000 / 12,500 = 40 % → 8,000 → revenue 8,000 − 4,000 = 4,000.00
         (= −800 + 4,800); billed M-C1 10,000.00; balance 8,000 − 10,000 = −2,000.00
    Mar  7,500 / 12,500 = 60 % → 12,000 → revenue 4,000.00; balance 12,000 − 10,000 = +2,000.00

| contract | month | billed | credits | revenue | balance | write-off | labor |
|---|---|---|---|---|---|---|---|
| C-FFH | 2026-01 | 4,000.00 | 0 | 3,600.00 | −400.00 | 0 | 1,800.00 |
| C-FFH | 2026-02 | 0 | 0 | 4,800.00 | 4,400.00 | 0 | 2,400.00 |
| C-FFH | 2026-03 | 8,000.00 | 0 | 3,600.00 | 0 | 0 | 1,800.00 |
| C-FFC | 2026-01 | 0 | 0 | 4,000.00 | 4,000.00 | 0 | 2,000.00 |
| C-FFC | 2026-02 | 10,000.00 | 0 | 6,000.00 | 0 | 0 | 3,000.00 |
| C-FFC | 2026-03 | 0 | 0 | 5,000.00 | 5,000.00 | 0 | 2,500.00 |
| C-FFR | 2026-01 | 0 | 0 | 4,000.00 | 4,000.00 | 0 | 2,000.00 |
| C-FFR | 2026-02 | 10,000.00 | 0 | 4,000.00 | −2,000.00 | 0 | 3,000.00 |
| C-FFR | 2026-03 | 0 | 0 | 4,000.00 | 2,000.00 | 0 | 2,500.00 |
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.revenue_tables import revenue_schedules
from tests.e2e.firms import (
    KEY,
    D,
    Firm,
    Month,
    deal,
    estimate_revised,
    milestone_done,
    row,
    timesheet,
    worker,
)

MONTHS = ("2026-01", "2026-02", "2026-03")
EXPECTED = {
    "C-FFH": {"2026-01": row("4000.00", 0, "3600.00", "-400.00", 0, "1800.00"),
              "2026-02": row(0, 0, "4800.00", "4400.00", 0, "2400.00"),
              "2026-03": row("8000.00", 0, "3600.00", 0, 0, "1800.00")},
    "C-FFC": {"2026-01": row(0, 0, "4000.00", "4000.00", 0, "2000.00"),
              "2026-02": row("10000.00", 0, "6000.00", 0, 0, "3000.00"),
              "2026-03": row(0, 0, "5000.00", "5000.00", 0, "2500.00")},
    "C-FFR": {"2026-01": row(0, 0, "4000.00", "4000.00", 0, "2000.00"),
              "2026-02": row("10000.00", 0, "4000.00", "-2000.00", 0, "3000.00"),
              "2026-03": row(0, 0, "4000.00", "2000.00", 0, "2500.00")},
}


def by_hours() -> dict[str, Any]:
    return deal("C-FFH", kind="fixed_fee", amount="12000.00", rate=None,
                line={"estimated_hours": "100", "recognition": "hours"},
                milestones=[{"milestone_id": "M-H1", "name": "Design", "amount": "4000.00"},
                            {"milestone_id": "M-H2", "name": "Go-live", "amount": "8000.00"}])


def by_cost(number: str = "C-FFC") -> dict[str, Any]:
    m1, m2 = f"M-{number[-1]}1", f"M-{number[-1]}2"
    return deal(number, kind="fixed_fee", amount="20000.00", rate=None,
                line={"estimated_cost": "10000.00", "recognition": "cost_to_cost"},
                milestones=[{"milestone_id": m1, "name": "Phase 1", "amount": "10000.00"},
                            {"milestone_id": m2, "name": "Phase 2", "amount": "10000.00"}])


class Quarter:
    def __init__(self, firm: Firm, contracts: tuple[str, ...]) -> None:
        self.firm, self.contracts = firm, contracts
        self.at_close: dict[str, dict[str, Month]] = {c: {} for c in contracts}
        self.posted: list[Any] = []

    def close(self, period: str) -> None:
        self.firm.close(period)
        for c in self.contracts:
            self.at_close[c][period] = self.firm.month(c, period)


def run_quarter(firm: Firm) -> Quarter:
    q = Quarter(firm, ("C-FFH", "C-FFC"))
    firm.post(by_hours(), by_cost(), worker("W-3", cost="60.00"), worker("W-4", cost="100.00"),
              *timesheet("T-FH1", "C-FFH", "2026-01-14", 30, worker_id="W-3"),
              milestone_done("M-H1", "C-FFH", "2026-01-28"),
              *timesheet("T-FC1", "C-FFC", "2026-01-13", 20, worker_id="W-4"))
    q.close("2026-01")
    firm.post(*timesheet("T-FH2", "C-FFH", "2026-02-12", 40, worker_id="W-3"),
              *timesheet("T-FC2", "C-FFC", "2026-02-16", 30, worker_id="W-4"),
              milestone_done("M-C1", "C-FFC", "2026-02-20"))
    q.close("2026-02")
    firm.post(*timesheet("T-FH3", "C-FFH", "2026-03-11", 30, worker_id="W-3"),
              milestone_done("M-H2", "C-FFH", "2026-03-25"),
              *timesheet("T-FC3", "C-FFC", "2026-03-10", 25, worker_id="W-4"))
    q.close("2026-03")
    return q


def run_revision(firm: Firm) -> Quarter:
    q = Quarter(firm, ("C-FFR",))
    firm.post(by_cost("C-FFR"), worker("W-4", cost="100.00"),
              *timesheet("T-FR1", "C-FFR", "2026-01-13", 20, worker_id="W-4"))
    q.close("2026-01")
    revision = estimate_revised("C-FFR", "L1", "2026-02-01", estimated_cost="12500.00")
    q.posted.append(firm.post_raw(revision))
    firm.post(*timesheet("T-FR2", "C-FFR", "2026-02-16", 30, worker_id="W-4"),
              milestone_done("M-R1", "C-FFR", "2026-02-20"))
    q.close("2026-02")
    firm.post(*timesheet("T-FR3", "C-FFR", "2026-03-10", 25, worker_id="W-4"))
    q.close("2026-03")
    q.posted.append(firm.outcome(revision))
    return q


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quarter]:
    firm = Firm(tmp_path_factory.mktemp("ff"))
    try:
        yield run_quarter(firm)
    finally:
        firm.dispose()


@pytest.fixture(scope="module")
def revised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quarter]:
    firm = Firm(tmp_path_factory.mktemp("ffr"))
    try:
        yield run_revision(firm)
    finally:
        firm.dispose()


def test_milestones_bill_when_accepted(quarter: Quarter) -> None:
    """C-FFH: M-H1 4,000.00 in January, nothing in February, M-H2 8,000.00 in March;
    C-FFC: M-C1 10,000.00 in February only."""
    assert [quarter.at_close["C-FFH"][p].billed for p in MONTHS] == [
        D("4000.00"), 0, D("8000.00")]
    assert [quarter.at_close["C-FFC"][p].billed for p in MONTHS] == [0, D("10000.00"), 0]


def test_fixed_fee_labor_cost_by_month(quarter: Quarter) -> None:
    """C-FFH 30/40/30 h × 60 = 1,800.00 / 2,400.00 / 1,800.00; C-FFC 20/30/25 h × 100 =
    2,000.00 / 3,000.00 / 2,500.00; no write-offs, no credits."""
    assert [quarter.at_close["C-FFH"][p].labor_cost for p in MONTHS] == [
        D("1800.00"), D("2400.00"), D("1800.00")]
    assert [quarter.at_close["C-FFC"][p].labor_cost for p in MONTHS] == [
        D("2000.00"), D("3000.00"), D("2500.00")]
    assert all(m.write_off == 0 and m.credits == 0
               for c in quarter.at_close.values() for m in c.values())


def test_billed_by_milestones_recognized_by_hours(quarter: Quarter) -> None:
    """C-FFH revenue 3,600.00 / 4,800.00 / 3,600.00; balance −400.00 / +4,400.00 / 0."""
    assert [(m.revenue, m.balance) for m in quarter.at_close["C-FFH"].values()] == [
        (D("3600.00"), D("-400.00")), (D("4800.00"), D("4400.00")), (D("3600.00"), 0)]


def test_billed_by_milestones_recognized_by_cost(quarter: Quarter) -> None:
    """C-FFC revenue 4,000.00 / 6,000.00 / 5,000.00; balance +4,000.00 / 0 / +5,000.00."""
    assert [(m.revenue, m.balance) for m in quarter.at_close["C-FFC"].values()] == [
        (D("4000.00"), D("4000.00")), (D("6000.00"), 0), (D("5000.00"), D("5000.00"))]


def test_fixed_fee_quarter_tables(quarter: Quarter) -> None:
    """Every cell of C-FFH's and C-FFC's tables (module docstring), at each close."""
    for c in ("C-FFH", "C-FFC"):
        assert {p: m.row() for p, m in quarter.at_close[c].items()} == EXPECTED[c], c


def test_every_month_locks(quarter: Quarter) -> None:
    for period in MONTHS:
        quarter.firm.assert_locked(period)


# --- the estimate revision ------------------------------------------------------------------

def test_estimate_revised_is_received_and_applied(revised: Quarter) -> None:
    response, final = revised.posted
    assert response.status_code == 202, response.text
    assert final == "applied"


def test_estimate_revision_is_a_cumulative_catch_up(revised: Quarter) -> None:
    """C-FFR revenue 4,000.00 / 4,000.00 / 4,000.00; balance +4,000.00 / −2,000.00 /
    +2,000.00 (module docstring)."""
    assert {p: m.row() for p, m in revised.at_close["C-FFR"].items()} == EXPECTED["C-FFR"]


def test_estimate_revision_catch_up_is_labelled(revised: Quarter) -> None:
    """The schedule of C-FFR lists a catch-up of −800.00 on 2026-02-01 caused by the estimate
    change (2,000 / 12,500 × 20,000 = 3,200 against 4,000 recognized)."""
    r = revised.firm.http.get("/v1/contracts/C-FFR/schedule", params={"as_of": "2026-03-31"},
                              headers=KEY)
    assert r.status_code == 200, r.text
    catch_ups = r.json().get("catch_ups", [])
    assert [(D(c["amount"]), c["date"]) for c in catch_ups
            if "estimate" in str(c.get("cause", ""))] == [(D("-800.00"), "2026-02-01")]


def test_revision_firm_bills_its_milestone_and_costs_its_time(revised: Quarter) -> None:
    """C-FFR: M-R1 10,000.00 billed in February; labor 2,000.00 / 3,000.00 / 2,500.00."""
    assert [(m.billed, m.labor_cost) for m in revised.at_close["C-FFR"].values()] == [
        (0, D("2000.00")), (D("10000.00"), D("3000.00")), (0, D("2500.00"))]
    with revised.firm.system.engine.connect() as conn:
        assert conn.execute(select(revenue_schedules.c.contract_number)).first() is not None
