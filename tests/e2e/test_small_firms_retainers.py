"""A small firm on monthly retainers, fed over HTTP for a quarter and closed month by month
(issue 9, Evidence; findings 4 and 5).

Entity US01, USD, tax exempt. Revenue of a retainer: ratable, the month's share of what the
term is billed (docs/revenue.md; monthly prorated: whole months evenly, a part month by its
days).

- C-ADVN: 3,000.00 a month in advance, the *next month* convention (the run at the end of
  month M bills M+1; a month not billed ahead is caught up), term 2026-01-01 … 2026-06-30.
- C-ADVC: 3,000.00 a month in advance, the *month itself* convention (billed on the 1st for
  that month; ``"retainer": {"timing": "advance", "convention": "current_month"}``, the
  option finding 5 asks for), term 2026-01-01 … 2026-06-30.
- C-ARR: 2,000.00 a month in arrears, term 2026-01-01 … 2026-12-31; amendment A-ARR
  (sent 2026-02-10) changes the fee to 2,600.00 from 2026-02-15 (``change_price`` on L1).
- C-ADD: 2,000.00 a month in arrears, term 2026-01-01 … 2026-12-31; amendment A-ADD (sent
  2026-01-20, before January's close) adds retainer line L2 at 500.00 a month from
  2026-02-01, priced at its standalone selling price and distinct.

Hand computation:

    C-ADVN  Jan run: January (not billed ahead) + February (ahead) = 6,000.00; Feb run: March
            3,000.00; Mar run: April 3,000.00. Revenue 18,000 / 6 months = 3,000.00 a month.
            Balance: Jan 3,000 − 6,000 = −3,000.00; Feb 6,000 − 9,000 = −3,000.00;
            Mar 9,000 − 12,000 = −3,000.00 (one month billed ahead, a liability).
    C-ADVC  each month billed 3,000.00 on its 1st; revenue 3,000.00; balance 0.
    C-ARR   Jan 2,000.00. Feb: 2,000 × 14/28 = 1,000.00 (1st–14th) + 2,600 × 14/28 =
            1,300.00 (15th–28th) = 2,300.00. Mar 2,600.00.
            Revenue: a price-only change of a series of distinct months is prospective
            (25-13(a)): recognized to 2026-02-14 2,000 + 1,000 = 3,000; the price after the
            change 2,000 + 2,300 + 10 × 2,600 = 30,300; 30,300 − 3,000 = 27,300 over 0.5 + 10
            = 10.5 months = 2,600.00 a month: Feb 1,000 + 1,300 = 2,300.00, Mar 2,600.00.
            Balance 0 every month.
    C-ADD   Jan 2,000.00 (L2 starts in February); Feb and Mar 2,000 + 500 = 2,500.00.
            Revenue: L1 24,000 / 12 = 2,000.00 a month; L2 (separate contract: distinct, at
            SSP) 11 × 500 = 5,500 over 2026-02-01 … 2026-12-31 = 500.00 a month.
            Jan 2,000.00, Feb 2,500.00, Mar 2,500.00; balance 0.

No time is booked on retainers here: labor cost 0, no write-offs, no credits.

| contract | month | billed | credits | revenue | balance | write-off | labor |
|---|---|---|---|---|---|---|---|
| C-ADVN | 2026-01 | 6,000.00 | 0 | 3,000.00 | −3,000.00 | 0 | 0 |
| C-ADVN | 2026-02 | 3,000.00 | 0 | 3,000.00 | −3,000.00 | 0 | 0 |
| C-ADVN | 2026-03 | 3,000.00 | 0 | 3,000.00 | −3,000.00 | 0 | 0 |
| C-ADVC | each month | 3,000.00 | 0 | 3,000.00 | 0 | 0 | 0 |
| C-ARR | 2026-01 | 2,000.00 | 0 | 2,000.00 | 0 | 0 | 0 |
| C-ARR | 2026-02 | 2,300.00 | 0 | 2,300.00 | 0 | 0 | 0 |
| C-ARR | 2026-03 | 2,600.00 | 0 | 2,600.00 | 0 | 0 | 0 |
| C-ADD | 2026-01 | 2,000.00 | 0 | 2,000.00 | 0 | 0 | 0 |
| C-ADD | 2026-02, 2026-03 | 2,500.00 | 0 | 2,500.00 | 0 | 0 | 0 |
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import invoices
from tests.e2e.firms import D, Firm, Month, amended, deal, row

MONTHS = ("2026-01", "2026-02", "2026-03")
EXPECTED = {
    "C-ADVN": {"2026-01": row("6000.00", 0, "3000.00", "-3000.00", 0, 0),
               "2026-02": row("3000.00", 0, "3000.00", "-3000.00", 0, 0),
               "2026-03": row("3000.00", 0, "3000.00", "-3000.00", 0, 0)},
    "C-ADVC": {p: row("3000.00", 0, "3000.00", 0, 0, 0) for p in MONTHS},
    "C-ARR": {"2026-01": row("2000.00", 0, "2000.00", 0, 0, 0),
              "2026-02": row("2300.00", 0, "2300.00", 0, 0, 0),
              "2026-03": row("2600.00", 0, "2600.00", 0, 0, 0)},
    "C-ADD": {"2026-01": row("2000.00", 0, "2000.00", 0, 0, 0),
              "2026-02": row("2500.00", 0, "2500.00", 0, 0, 0),
              "2026-03": row("2500.00", 0, "2500.00", 0, 0, 0)},
}


def retainer(number: str, fee: str, timing: str, end: str, **extra: str) -> dict:  # type: ignore[type-arg]
    return deal(number, kind="retainer", amount=fee, rate=None, end=end,
                template="managed_service", terms={"retainer": {"timing": timing, **extra}})


class Quarter:
    def __init__(self, firm: Firm) -> None:
        self.firm = firm
        self.at_close: dict[str, dict[str, Month]] = {c: {} for c in EXPECTED}

    def close(self, period: str) -> None:
        self.firm.close(period)
        for c in EXPECTED:
            self.at_close[c][period] = self.firm.month(c, period)


def run_quarter(firm: Firm) -> Quarter:
    q = Quarter(firm)
    firm.post(retainer("C-ADVN", "3000.00", "advance", "2026-06-30"),
              retainer("C-ADVC", "3000.00", "advance", "2026-06-30",
                       convention="current_month"),
              retainer("C-ARR", "2000.00", "arrears", "2026-12-31"),
              retainer("C-ADD", "2000.00", "arrears", "2026-12-31"),
              amended("C-ADD", "A-ADD", "2026-02-01", [
                  {"action": "add_line", "line_id": "L2", "kind": "retainer",
                   "description": "Extended support", "amount": "500.00",
                   "priced_at_ssp": True, "distinct": True}], sent="2026-01-20"))
    q.close("2026-01")
    firm.post(amended("C-ARR", "A-ARR", "2026-02-15", [
        {"action": "change_price", "line_id": "L1", "amount": "2600.00"}], sent="2026-02-10"))
    q.close("2026-02")
    q.close("2026-03")
    return q


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quarter]:
    firm = Firm(tmp_path_factory.mktemp("ret"))
    try:
        yield run_quarter(firm)
    finally:
        firm.dispose()


def table(q: Quarter, contract: str) -> dict[str, tuple[D, ...]]:  # type: ignore[valid-type]
    return {p: m.row() for p, m in q.at_close[contract].items()}


def test_advance_next_month_convention(quarter: Quarter) -> None:
    """C-ADVN: 6,000.00 / 3,000.00 / 3,000.00 billed, 3,000.00 revenue a month, one month
    (3,000.00) billed ahead at every month end."""
    assert table(quarter, "C-ADVN") == EXPECTED["C-ADVN"]


def test_advance_month_itself_convention(quarter: Quarter) -> None:
    """C-ADVC: 3,000.00 billed each month on its 1st, 3,000.00 revenue, balance 0."""
    assert table(quarter, "C-ADVC") == EXPECTED["C-ADVC"]
    with quarter.firm.system.engine.connect() as conn:
        dates = sorted(conn.execute(select(invoices.c.invoice_date).where(
            invoices.c.contract_number == "C-ADVC")).scalars())
    assert dates == ["2026-01-01", "2026-02-01", "2026-03-01"]


def test_arrears_fee_change_applies_from_its_effective_date(quarter: Quarter) -> None:
    """C-ARR billed 2,000.00 / 2,300.00 / 2,600.00 (February 14 days at each fee)."""
    assert [quarter.at_close["C-ARR"][p].billed for p in MONTHS] == [
        D("2000.00"), D("2300.00"), D("2600.00")]


def test_arrears_fee_change_is_recognized_prospectively(quarter: Quarter) -> None:
    """C-ARR revenue 2,000.00 / 2,300.00 / 2,600.00, balance 0 each month."""
    assert table(quarter, "C-ARR") == EXPECTED["C-ARR"]


def test_added_retainer_line_bills_from_its_effective_date(quarter: Quarter) -> None:
    """C-ADD billed 2,000.00 in January (L2 starts 2026-02-01), 2,500.00 in February and
    March; revenue the same; balance 0."""
    assert table(quarter, "C-ADD") == EXPECTED["C-ADD"]


def test_retainer_months_lock(quarter: Quarter) -> None:
    for period in MONTHS:
        quarter.firm.assert_locked(period)
