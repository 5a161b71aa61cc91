"""A small firm on time and materials with not-to-exceed caps, fed over HTTP for a quarter and
closed month by month (issue 9, Evidence).

The firm (entity US01, USD, tax exempt; contracts 2026-01-01 … 2026-12-31):

- C-SOFT: consultant at 100.00/h, soft cap NTE-S limit 2,000.00, tolerance 5 %
  → ceiling 2,000 + round(2,000 × 0.05) = 2,100.00. Worker W-1, cost 80.00/h.
- C-HARD: consultant at 150.00/h, hard cap NTE-H limit 3,000.00, no tolerance
  → ceiling 3,000.00. Worker W-2, cost 90.00/h.

Events, month by month (each month's batch is posted, then the month is closed):

- January: T-S1 2026-01-12 10 h, T-S2 2026-01-20 8 h (C-SOFT); T-H1 2026-01-15 12 h,
  T-H2 2026-01-22 10 h (C-HARD).
- February: the PSA rejects T-S2 on 2026-02-03 (after it was invoiced); T-S3 2026-02-10 9 h,
  T-S4 2026-02-18 4 h (C-SOFT); T-H3 2026-02-10 4 h (C-HARD).
- March: on 2026-03-02 the controller approves the 300.00 held on T-H2 (`time:T-H2#over`);
  T-S5 2026-03-05 5 h (C-SOFT).

Hand computation, C-SOFT (rules: docs/billing.md "Caps"; finding 1: caps work on net billed):

    Jan  T-S1 10 h × 100 = 1,000.00; T-S2 8 h × 100 = 800.00; cap billed 1,800 ≤ 2,100
         invoice 1,800.00; revenue (right to invoice) 1,800.00; balance 1,800 − 1,800 = 0
         labor 18 h × 80 = 1,440.00
    Feb  credit note for T-S2: −800.00 (dated 2026-02-28, the run's end)
         cap billed net 1,800 − 800 = 1,000
         T-S3 9 h × 100 = 900.00 → 1,900 ≤ 2,100, billed
         T-S4 4 h × 100 = 400.00, headroom 2,100 − 1,900 = 200 → #cap 200.00 (2 h) billed,
              #over 200.00 (2 h) shown and written off −200.00
         invoice 900 + 200 + 200 − 200 = 1,100.00; write-off 200.00
         revenue: cumulative billable 1,000 (T-S1) + 900 + 200 = 2,100; 2,100 − 1,800 = 300.00
         net billed 1,800 − 800 + 1,100 = 2,100; balance 2,100 − 2,100 = 0
         labor: 13 h × 80 = 1,040.00 worked in February, less T-S2's 8 h × 80 = 640.00
                reversed in the open month (finding 7) → 400.00
    Mar  T-S5 5 h × 100 = 500.00, headroom 0 → shown and written off: invoice 0.00,
         write-off 500.00; revenue 0; balance 0; labor 5 h × 80 = 400.00

Hand computation, C-HARD:

    Jan  T-H1 12 h × 150 = 1,800.00 → cap billed 1,800
         T-H2 10 h × 150 = 1,500.00, headroom 1,200 → #cap 1,200.00 (8 h) billed,
              #over 300.00 (2 h) held for approval
         invoice 3,000.00; revenue 3,000.00 (held time is not billable, finding 9)
         balance 0; labor 22 h × 90 = 1,980.00
    Feb  T-H3 4 h × 150 = 600.00, headroom 0 → held; billed 0; revenue 0; balance 0
         labor 4 h × 90 = 360.00
    Mar  the 300.00 approved → billed past the cap: invoice 300.00; revenue 300.00;
         balance 0; labor 0 (T-H3's 600.00 stays held)

| contract | month | billed | credits | revenue | balance | write-off | labor |
|---|---|---|---|---|---|---|---|
| C-SOFT | 2026-01 | 1,800.00 | 0 | 1,800.00 | 0 | 0 | 1,440.00 |
| C-SOFT | 2026-02 | 1,100.00 | 800.00 | 300.00 | 0 | 200.00 | 400.00 |
| C-SOFT | 2026-03 | 0.00 | 0 | 0 | 0 | 500.00 | 400.00 |
| C-HARD | 2026-01 | 3,000.00 | 0 | 3,000.00 | 0 | 0 | 1,980.00 |
| C-HARD | 2026-02 | 0 | 0 | 0 | 0 | 0 | 360.00 |
| C-HARD | 2026-03 | 300.00 | 0 | 300.00 | 0 | 0 | 0 |
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.billing_tables import billing_caps, credit_notes
from syncline.services.billing.requests import release_held_item
from tests.e2e.firms import (
    KEY,
    D,
    Firm,
    Month,
    deal,
    reject_time,
    row,
    time_,
    worker,
)

MONTHS = ("2026-01", "2026-02", "2026-03")
EXPECTED = {
    "C-SOFT": {"2026-01": row("1800.00", 0, "1800.00", 0, 0, "1440.00"),
               "2026-02": row("1100.00", "800.00", "300.00", 0, "200.00", "400.00"),
               "2026-03": row(0, 0, 0, 0, "500.00", "400.00")},
    "C-HARD": {"2026-01": row("3000.00", 0, "3000.00", 0, 0, "1980.00"),
               "2026-02": row(0, 0, 0, 0, 0, "360.00"),
               "2026-03": row("300.00", 0, "300.00", 0, 0, 0)},
}
SOFT = {"caps": [{"cap_id": "NTE-S", "scope": "contract", "limit": "2000.00", "kind": "soft",
                  "tolerance": "0.05"}]}
HARD = {"caps": [{"cap_id": "NTE-H", "scope": "contract", "limit": "3000.00", "kind": "hard",
                  "tolerance": "0"}]}


def january() -> list[dict[str, Any]]:
    return [deal("C-SOFT", rate="100.00", terms=SOFT), deal("C-HARD", rate="150.00", terms=HARD),
            worker("W-1", cost="80.00"), worker("W-2", cost="90.00"),
            time_("T-S1", "C-SOFT", "2026-01-12", "10", worker_id="W-1"),
            time_("T-S2", "C-SOFT", "2026-01-20", "8", worker_id="W-1"),
            time_("T-H1", "C-HARD", "2026-01-15", "12", worker_id="W-2"),
            time_("T-H2", "C-HARD", "2026-01-22", "10", worker_id="W-2")]


def february() -> list[dict[str, Any]]:
    return [reject_time("T-S2", "2026-02-03"),
            time_("T-S3", "C-SOFT", "2026-02-10", "9", worker_id="W-1"),
            time_("T-S4", "C-SOFT", "2026-02-18", "4", worker_id="W-1"),
            time_("T-H3", "C-HARD", "2026-02-10", "4", worker_id="W-2")]


def march() -> list[dict[str, Any]]:
    return [time_("T-S5", "C-SOFT", "2026-03-05", "5", worker_id="W-1")]


class Quarter:
    """The firm after each close: figures as reported at each close and as known at the end,
    and the month's reports as they were right after its close."""

    def __init__(self, firm: Firm) -> None:
        self.firm = firm
        self.at_close: dict[str, dict[str, Month]] = {c: {} for c in EXPECTED}
        self.reports: dict[str, dict[str, Any]] = {}
        self.cap_billed: dict[str, dict[str, Decimal]] = {}

    def close(self, period: str) -> None:
        self.firm.close(period)
        for c in EXPECTED:
            self.at_close[c][period] = self.firm.month(c, period)
        self.reports[period] = {n: self.firm.report(n, period)
                                for n in ("trial-balance", "margin", "close-reconciliation")}
        with self.firm.system.engine.connect() as conn:
            self.cap_billed[period] = dict(conn.execute(
                select(billing_caps.c.cap_id, billing_caps.c.billed)).all())

    def now(self, contract: str, period: str) -> tuple[Decimal, ...]:
        return self.firm.month(contract, period).row()


def run_quarter(firm: Firm) -> Quarter:
    q = Quarter(firm)
    firm.post(*january())
    q.close("2026-01")
    firm.post(*february())
    q.close("2026-02")
    with firm.system.engine.begin() as conn:
        assert release_held_item(conn, "time:T-H2#over", by="controller",
                                 now=firm.system.clock())
    firm.post(*march())
    q.close("2026-03")
    return q


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quarter]:
    firm = Firm(tmp_path_factory.mktemp("tm"))
    try:
        yield run_quarter(firm)
    finally:
        firm.dispose()


# --- C-SOFT ---------------------------------------------------------------------------------

def test_soft_cap_january_bills_within_the_ceiling(quarter: Quarter) -> None:
    """January: 1,800.00 billed (≤ the 2,100.00 ceiling), revenue 1,800.00, balance 0,
    labor 1,440.00 (18 h × 80)."""
    assert quarter.at_close["C-SOFT"]["2026-01"].row() == EXPECTED["C-SOFT"]["2026-01"]
    assert quarter.cap_billed["2026-01"]["NTE-S"] == D("1800.00")


def test_time_rejected_after_invoicing_is_credited_in_the_month_it_is_recorded(
        quarter: Quarter) -> None:
    """T-S2 (8 h × 100 = 800.00) invoiced in January, rejected on 2026-02-03: the February run
    issues a credit note of −800.00 dated 2026-02-28 naming `time:T-S2`; January's invoice
    stays as it was (1,800.00)."""
    with quarter.firm.system.engine.connect() as conn:
        (note,) = conn.execute(select(credit_notes)).all()
    assert (note.contract_number, note.credit_date, note.subtotal, note.total) == (
        "C-SOFT", "2026-02-28", D("-800.00"), D("-800.00"))
    assert quarter.now("C-SOFT", "2026-01")[0] == D("1800.00")
    assert quarter.at_close["C-SOFT"]["2026-02"].credits == D("800.00")


def test_credit_note_gives_headroom_back_to_the_soft_cap(quarter: Quarter) -> None:
    """After the −800.00 credit the cap's net billed is 1,000.00: T-S3 (900.00) fits, T-S4
    (400.00) is split at the 200.00 headroom. February's invoice 900 + 200 + 200 − 200 =
    1,100.00 with a 200.00 write-off; the cap ends February at 2,100.00 net billed."""
    feb = quarter.at_close["C-SOFT"]["2026-02"]
    assert (feb.billed, feb.write_off) == (D("1100.00"), D("200.00"))
    assert quarter.cap_billed["2026-02"]["NTE-S"] == D("2100.00")


def test_soft_cap_past_the_ceiling_writes_off_the_whole_entry(quarter: Quarter) -> None:
    """March: the cap is at its 2,100.00 ceiling; T-S5 (5 h × 100 = 500.00) is shown and
    written off: billed 0.00, write-off 500.00."""
    mar = quarter.at_close["C-SOFT"]["2026-03"]
    assert (mar.billed, mar.write_off) == (D("0"), D("500.00"))


def test_soft_cap_revenue_is_what_is_billable_after_credits_and_write_offs(
        quarter: Quarter) -> None:
    """Revenue by right to invoice is exactly what is billable: January 1,800.00; February
    cumulative 1,000 + 900 + 200 = 2,100.00 → 300.00; March 0 (T-S5 written off whole);
    the contract balance is 0 at every month end (nothing unbilled, nothing billed ahead)."""
    got = [(m.revenue, m.balance) for m in quarter.at_close["C-SOFT"].values()]
    assert got == [(D("1800.00"), 0), (D("300.00"), 0), (0, 0)]


def test_rejected_time_cost_is_reversed_in_the_open_month(quarter: Quarter) -> None:
    """Labor cost of C-SOFT's project: January 1,440.00 at its close and still 1,440.00 as
    known at the end of the quarter; February 13 h × 80 = 1,040.00 less T-S2's 640.00 reversed
    in February = 400.00; March 5 h × 80 = 400.00."""
    assert [quarter.at_close["C-SOFT"][p].labor_cost for p in MONTHS] == [
        D("1440.00"), D("400.00"), D("400.00")]
    assert quarter.firm.month("C-SOFT", "2026-01").labor_cost == D("1440.00")


def test_c_soft_quarter_table(quarter: Quarter) -> None:
    """Every cell of C-SOFT's table (module docstring), as reported at each close."""
    assert {p: m.row() for p, m in quarter.at_close["C-SOFT"].items()} == EXPECTED["C-SOFT"]


# --- C-HARD ---------------------------------------------------------------------------------

def test_hard_cap_bills_to_the_limit_and_holds_the_rest(quarter: Quarter) -> None:
    """January: 1,800.00 + 1,200.00 (T-H2's part within the cap) = 3,000.00 billed; 300.00
    (2 h of T-H2) held (approved and billed in March); February T-H3's 600.00 held whole,
    nothing billed."""
    assert quarter.at_close["C-HARD"]["2026-01"].billed == D("3000.00")
    assert quarter.at_close["C-HARD"]["2026-02"].billed == 0
    assert quarter.cap_billed["2026-01"]["NTE-H"] == D("3000.00")
    holds = quarter.firm.http.get("/v1/billing/holds", params={"status": "all"},
                                  headers=KEY).json()
    held = {h["item_key"]: (D(h["amount"]), h["status"]) for h in holds}
    assert held == {"time:T-H2#over": (D("300.00"), "billed"),
                    "time:T-H3": (D("600.00"), "held")}


def test_an_approved_hold_is_billed_in_the_month_it_is_approved(quarter: Quarter) -> None:
    """Approved on 2026-03-02, `time:T-H2#over` (300.00) is on March's invoice, past the cap;
    January's and February's figures do not move."""
    assert quarter.at_close["C-HARD"]["2026-03"].billed == D("300.00")
    assert quarter.now("C-HARD", "2026-01")[0] == D("3000.00")


def test_held_time_is_not_revenue_until_released(quarter: Quarter) -> None:
    """Revenue = what is billable: January 3,000.00 (not the held 300.00), February 0 (T-H3
    held), March 300.00 (released); balance 0 at every month end."""
    got = [(m.revenue, m.balance) for m in quarter.at_close["C-HARD"].values()]
    assert got == [(D("3000.00"), 0), (0, 0), (D("300.00"), 0)]


def test_hard_cap_labor_cost_by_month(quarter: Quarter) -> None:
    """Labor cost of C-HARD's project: 22 h × 90 = 1,980.00; 4 h × 90 = 360.00; 0."""
    assert [quarter.at_close["C-HARD"][p].labor_cost for p in MONTHS] == [
        D("1980.00"), D("360.00"), 0]


def test_c_hard_quarter_table(quarter: Quarter) -> None:
    """Every cell of C-HARD's table (module docstring), as reported at each close."""
    assert {p: m.row() for p, m in quarter.at_close["C-HARD"].items()} == EXPECTED["C-HARD"]


# --- the close ------------------------------------------------------------------------------

def test_january_locks_with_every_check_agreeing(quarter: Quarter) -> None:
    quarter.firm.assert_locked("2026-01")


def test_months_after_a_credit_note_lock(quarter: Quarter) -> None:
    quarter.firm.assert_locked("2026-02")
    quarter.firm.assert_locked("2026-03")


def test_a_closed_months_reports_never_change(quarter: Quarter) -> None:
    """January's trial balance, margin and close reconciliation as re-run at the end of the
    quarter are what they were right after January's close."""
    for period in ("2026-01", "2026-02"):
        for name, report in quarter.reports[period].items():
            assert quarter.firm.report(name, period) == report, (period, name)


def test_contract_statement_over_http_matches_the_books(quarter: Quarter) -> None:
    """The statement endpoint gives, for C-SOFT in February, the figures of the table:
    billed 1,100.00, credits 800.00, revenue 300.00, balance 0, write-off 200.00,
    labor cost 400.00."""
    r = quarter.firm.http.get("/v1/contracts/C-SOFT/statement", params={"period": "2026-02"},
                              headers=KEY)
    assert r.status_code == 200, r.text
    body = r.json()
    amounts = {k: D(v) for k, v in body.items() if isinstance(v, str) and k in (
        "billed", "credits", "revenue", "balance", "cap_write_off", "labor_cost")}
    assert amounts == {"billed": D("1100.00"), "credits": D("800.00"),
                       "revenue": D("300.00"), "balance": 0, "cap_write_off": D("200.00"),
                       "labor_cost": D("400.00")}
