"""The KPIs month by month (services/kpis/series.py) over the small firm of test_kpis.py, and
the pure pivot behind the charts. Every figure below is computed by hand from that firm
(its docstring lists the facts; the clock is fixed at 2026-07-15T12:00Z):

- approval-to-invoice, median: January 14.50 (T-1 26 days, T-2 3 days); February nothing
  invoiced → n/a.
- unbilled approved time: end of January 0 (no row: zero for a total), end of February T-3
  2 h × 200 = 400.00.
- unrecognized fulfilled milestones: end of January 0 (M-1 invoiced 01-31), end of February
  M-2 6,000.00.
- billing exception rate: January 1 ÷ 2 invoices = 50.00 %; February no invoice, no billing
  exception → n/a.
- exception aging: the billing exception raised 01-20T12:00 is, at 01-31T23:59:59, 11 days
  old (8-30); at 02-28T23:59:59, 39 days (31+). The T-X exception is raised in July.
- straight-through share: every message was received in July → n/a in January and February;
  July 8 ÷ 9 = 88.89 %.
- setup cycle time: both projects became active in July: median 190.13 days (test_kpis.py).
- revenue waterfall (revenue on invoice): January's invoices 2,000.00 + 4,000.00 = 6,000.00;
  February 0.
- DSO: January 92.0 (test_kpis.py); February: AR 6,000.00 ÷ invoiced Dec..Feb 6,000.00 ×
  90 days (31 + 31 + 28) = 90.0.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from syncline.adapters.db.tables import outbox
from syncline.bootstrap import Syncline
from syncline.services.kpis import formulas as f
from syncline.services.kpis.series import Trend, default_range, kpi_trends, months_between
from syncline.services.ledger.reports.registry import report_options
from tests.services.test_billing_wiring import ingest
from tests.services.test_kpis import amendment, kpis, small_firm

D = Decimal


def test_pivot_adds_a_label_s_cells_per_month_and_keeps_nothing_apart_from_zero() -> None:
    months = ["2026-01", "2026-02", "2026-03"]
    cells = [("2026-01", "A", D(1)), ("2026-01", "A", D(2)), ("2026-03", "A", None),
             ("2026-02", "B", D(5)), ("2026-04", "B", D(9))]  # April is outside the range
    assert f.pivot(months, cells) == [("A", [D(3), None, None]), ("B", [None, D(5), None])]
    assert f.pivot(months, cells, zero=True) == [("A", [D(3), D(0), D(0)]),
                                                 ("B", [D(0), D(5), D(0)])]
    assert f.percent(D("0.8889")) == D("88.89") and f.percent(None) is None


@given(st.lists(st.tuples(st.sampled_from(["2026-01", "2026-02", "2026-03", "2026-04"]),
                          st.sampled_from(["A", "B", "C"]),
                          st.none() | st.decimals(-1000, 1000, places=2))))
def test_pivot_keeps_every_in_range_amount(cells: list[tuple[str, str, Decimal | None]]
                                           ) -> None:
    """Nothing is lost or counted twice: a label's row sums to its cells in the range."""
    months = ["2026-01", "2026-02", "2026-03"]
    rows = dict(f.pivot(months, cells, zero=True))
    for label in {c[1] for c in cells if c[0] in months}:
        expected = sum((v for m, lab, v in cells if lab == label and m in months
                        and v is not None), D(0))
        assert sum((v for v in rows[label] if v is not None), D(0)) == expected
    assert all(len(values) == len(months) for values in rows.values())


def test_months_between_refuses_a_backward_or_too_long_range() -> None:
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    with pytest.raises(ValueError, match="backwards"):
        months_between("2026-03", "2026-01")
    with pytest.raises(ValueError, match="at most 24"):
        months_between("2024-01", "2026-01")
    with pytest.raises(ValueError, match="YYYY-MM"):
        months_between("2026-1", "2026-02")


@pytest.fixture
def firm(system: Syncline) -> Syncline:
    small_firm(system)
    return system


def trends(system: Syncline, first: str, last: str, entity: str | None = None,
           now: datetime | None = None) -> dict[str, Trend]:
    with system.engine.connect() as conn:
        return {t.kpi: t for t in kpi_trends(conn, first, last, entity=entity,
                                             options=report_options(system),
                                             now=now or system.clock())}


def series(t: Trend) -> dict[str, tuple[Decimal | None, ...]]:
    return {s.label: s.values for s in t.series}


def test_each_kpi_month_by_month(firm: Syncline) -> None:
    t = trends(firm, "2026-01", "2026-02")
    assert t["time_to_invoice_latency"].months == ("2026-01", "2026-02")
    assert series(t["time_to_invoice_latency"]) == {"US01": (D("14.50"), None)}
    assert series(t["unbilled_approved_time"]) == {"US01 USD": (D(0), D("400.00"))}
    assert series(t["unrecognized_fulfilled_milestones"]) == {"US01 USD": (D(0), D("6000.00"))}
    assert series(t["billing_exception_rate"]) == {"US01": (D("50.00"), None)}
    aging = t["exception_aging"]
    assert [s.label for s in aging.series] == ["0-1", "2-7", "8-30", "31+"]
    assert series(aging) == {"0-1": (0, 0), "2-7": (0, 0), "8-30": (1, 0), "31+": (0, 1)}
    assert {s.stack for s in aging.series} == {"age"}
    assert series(t["straight_through_share"]) == {"firm-wide": (None, None)}
    assert t["project_setup_cycle_time"].series == ()
    assert series(t["dso"]) == {"US01 USD": (D("92.0"), D("90.0"))}
    waterfall = t["revenue_waterfall"]
    assert sum((s.values[0] or 0 for s in waterfall.series), D(0)) == D("6000.00")
    assert sum((s.values[1] or 0 for s in waterfall.series), D(0)) == D(0)
    assert {s.stack for s in waterfall.series} == {"USD"}
    july = trends(firm, "2026-07", "2026-07")
    assert series(july["project_setup_cycle_time"]) == {"US01": (D("190.13"),)}
    assert series(july["straight_through_share"]) == {"firm-wide": (D("88.89"),)}
    assert all(x.definition for x in t.values())


def test_a_month_is_the_month_s_kpis(firm: Syncline) -> None:
    """The series are the figures `syncline kpi --period` shows for each month."""
    t = trends(firm, "2026-01", "2026-02", entity="US01")
    for k, month in enumerate(("2026-01", "2026-02")):
        rows = kpis(firm, month, entity="US01")["time_to_invoice_latency"]
        expected = rows[0]["median_days"] if rows else None
        assert series(t["time_to_invoice_latency"]).get("US01", (None, None))[k] == expected
    with firm.engine.connect() as conn:
        report = report_options(firm).build(conn, "revenue-waterfall", "2026-02",
                                            entity="US01", months=2, as_of="now")
    assert t["revenue_waterfall"].tables[0]["rows"] == [
        [str(c) for c in row] for row in report.tables[0].rows]
    assert trends(firm, "2026-01", "2026-02", entity="GB01")["unbilled_approved_time"] \
        .series == ()


def test_amendments_awaiting_propagation_at_each_month_end(firm: Syncline) -> None:
    """A-1 (D-2, US01) and A-9 (unknown deal D-404) are received 07-15T12:00. A-1's PSA
    budget update is delivered on 08-03 (set below, as if delivered then); A-9 stays parked.
    End of June: nothing received yet. End of July: A-1 undelivered (US01), A-9 not applied
    ('*'). End of August: A-1 delivered; A-9 still not applied."""
    ingest(firm, amendment("D-2", "A-1"), amendment("D-404", "A-9"))
    with firm.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.kind == "psa.budget.update")
                     .values(status="delivered", delivered_at="2026-08-03T09:00:00.000000Z"))
    later = datetime(2026, 9, 1, tzinfo=UTC)
    t = trends(firm, "2026-06", "2026-08", now=later)
    assert series(t["amendments_awaiting_propagation"]) == {
        "*": (D(0), D(1), D(1)), "US01": (D(0), D(1), D(0))}
    with firm.engine.connect() as conn:
        from syncline.services.kpis import compute_kpis

        july = compute_kpis(conn, "2026-07", options=report_options(firm), now=later)
    assert july["amendments_awaiting_propagation"] == [
        {"entity": "*", "undelivered": 0, "not_applied": 1, "total": 1},
        {"entity": "US01", "undelivered": 1, "not_applied": 0, "total": 1}]


def test_the_default_range_runs_from_the_first_invoice_to_this_month(firm: Syncline) -> None:
    with firm.engine.connect() as conn:
        assert default_range(conn, firm.clock()) == ("2026-01", "2026-07")
        assert default_range(conn, datetime(2027, 6, 1, tzinfo=UTC)) == ("2026-07", "2027-06")
