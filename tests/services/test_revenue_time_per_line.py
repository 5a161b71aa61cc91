"""Which contract lines a time entry measures (services/revenue/progress.py; docs/revenue.md
"Time and the lines it measures").

C-1 is a fixed fee with two lines recognised by hours, and no milestones:
L1 10,000.00 against 100 estimated hours and L2 30,000.00 against 200. Time entries name
the project and a WBS task, never a line, so an entry is shared by the lines it measures
pro rata to their own estimates (100 : 200).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select

from syncline.adapters.db.tables import projects, wbs_tasks
from syncline.bootstrap import Syncline
from syncline.revenue import compute_schedule
from syncline.revenue.model import (
    Method,
    MethodKind,
    Obligation,
    RevenueError,
    Ssp,
    SspMethod,
)
from syncline.services.revenue.facts import build_contract
from syncline.services.revenue.progress import Measured, shares, split
from syncline.services.revenue.sync import DEFAULT_POLICY
from tests.builders import deal, event, time_entry, worker
from tests.services.test_deal_to_invoice import ingest
from tests.services.test_revenue_recognition_methods import work


def two_lines(l2: dict[str, str] | None = None) -> dict[str, Any]:
    d = deal(billing_type="fixed_fee", amount="10000.00")
    d["data"]["lines"][0].update({"estimated_hours": "100", "recognition": "hours"})
    d["data"]["lines"].append({"line_id": "L2", "kind": "fixed_fee", "description": "Build",
                               "amount": "30000.00", "estimated_hours": "200",
                               "recognition": "hours", **(l2 or {})})
    return d


def cumulative(system: Syncline, as_of: date, *lines: str) -> dict[str, Decimal]:
    """Cumulative revenue at ``as_of`` of each line (by default the deal's lines)."""
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
    assert rc is not None
    r = compute_schedule(rc, DEFAULT_POLICY, as_of)
    return {line: Decimal(r.line(line).cumulative[r.as_of_index]) / 100
            for line in lines or [ob.id for ob in rc.obligations]}


def test_time_on_a_project_with_two_hours_lines_is_shared_by_their_estimates(
        system: Syncline) -> None:
    """30 h in January: L1 takes 30 × 100 / 300 = 10 h (10 % of 10,000.00 = 1,000.00), L2
    20 h (10 % of 30,000.00 = 3,000.00): 4,000.00 = 30 / 300 of 40,000.00. Counting every
    hour for both lines (before) gave 3,000.00 + 4,500.00 = 7,500.00."""
    ingest(system, two_lines(), worker(), *work("T", 30, "2026-01-05"))
    assert cumulative(system, date(2026, 1, 31)) == {"L1": Decimal("1000"),
                                                     "L2": Decimal("3000")}
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
    assert rc is not None
    # 10 h a day: L1's share of the running total 10 / 20 / 30 h is 3.3333 / 6.6667 /
    # 10.0000 h (the engine keeps 1/10,000 h), so its parts are 3.3333, 3.3334, 3.3333; L2
    # (the larger estimate) takes the rest of each entry.
    assert [(a.obligation_id, a.quantity, a.ref) for a in rc.actuals] == [
        ("L1", Decimal("3.3333"), "time shared 1/2"),
        ("L2", Decimal("6.6667"), "time shared 2/2"),
        ("L1", Decimal("3.3334"), "time shared 1/2"),
        ("L2", Decimal("6.6666"), "time shared 2/2"),
        ("L1", Decimal("3.3333"), "time shared 1/2"),
        ("L2", Decimal("6.6667"), "time shared 2/2")]


def test_a_line_added_later_shares_only_the_time_of_its_service_period(
        system: Syncline) -> None:
    """L1 alone (100 h) in January takes January's 10 h; an amendment adds L2 (5,000.00
    against 100 h) from 2026-02-01, and February's 20 h are shared 100 : 100. L1: 10 + 10 =
    20 h → 20 % of 10,000.00 = 2,000.00; L2: 10 h → 10 % of 5,000.00 = 500.00."""
    d = deal(billing_type="fixed_fee", amount="10000.00")
    d["data"]["lines"][0].update({"estimated_hours": "100", "recognition": "hours"})
    ingest(system, d, worker(), event("contract.amended", "deal/D-1", {
        "deal_id": "D-1", "amendment_id": "A-1", "effective_date": "2026-02-01",
        "changes": [{"action": "add_line", "line_id": "L2", "kind": "fixed_fee",
                     "description": "Reports", "amount": "5000.00", "estimated_hours": "100",
                     "recognition": "hours", "distinct": True, "priced_at_ssp": True}]},
        sequence=2), time_entry("T-1", hours="10", day="2026-01-20"),
        *work("T-2", 20, "2026-02-10"))
    assert cumulative(system, date(2026, 2, 28), "L1", "L2") == {"L1": Decimal("2000"),
                                                     "L2": Decimal("500")}


def test_lines_by_hours_and_by_cost_on_one_project_are_refused_not_guessed(
        system: Syncline) -> None:
    ingest(system, two_lines({"recognition": "cost_to_cost", "estimated_cost": "16000.00"}),
           worker(), time_entry("T-1", hours="8"))
    with system.engine.connect() as conn, pytest.raises(
            RevenueError, match="measures lines L1, L2, some by hours and some by cost"):
        build_contract(conn, "C-1")


def test_a_contract_s_time_is_every_project_s(system: Syncline) -> None:
    """A second project P-2 on C-1 (the schema allows it; no event creates one today):
    10 h on P-1 and 10 h on P-2 against L1's 100 h → 20 % of 10,000.00 = 2,000.00. One
    project picked by an unordered query (before) counted 10 h: 1,000.00."""
    d = deal(billing_type="fixed_fee", amount="10000.00")
    d["data"]["lines"][0].update({"estimated_hours": "100", "recognition": "hours"})
    ingest(system, d, worker())
    with system.engine.begin() as conn:
        contract = conn.execute(select(projects.c.contract_id)).scalar_one()
        conn.execute(projects.insert().values(id="prj-2", code="P-2", name="Phase 2",
                                              contract_id=contract, template="implementation",
                                              status="active"))
        conn.execute(wbs_tasks.insert().values(project_id="prj-2", code="1", name="Build",
                                               billable=True))
    ingest(system, time_entry("T-1", hours="10", day="2026-01-05"),
           time_entry("T-2", hours="10", day="2026-01-06", project="P-2"))
    assert cumulative(system, date(2026, 1, 31)) == {"L1": Decimal("2000")}


def _line(line_id: str, estimate: str | None, by_cost: bool = False) -> Measured:
    ob = Obligation(line_id, line_id, Method(MethodKind.HOURS),
                    Ssp(SspMethod.OBSERVABLE, Decimal(0)), date(2026, 1, 1), date(2026, 12, 31))
    return Measured(ob, by_cost, Decimal(estimate) if estimate is not None else None)


def test_shares_of_the_running_total_and_the_largest_estimate_takes_the_rest() -> None:
    """10 h over estimates 50 / 50 / 100: L1 and L2 2.5000 each, L3 the rest 5.0000; 1 h
    over 400 / 100 / 100: 0.1667 each for L2 and L3, L1 the rest 0.6666; 1 h
    over three equal estimates: 0.3333, 0.3333 and the rest 0.3334 (the last, on a tie); a
    second hour: the running total 2 h gives 0.6667 / 0.6667 / 0.6666, so the parts are
    0.3334 / 0.3334 / 0.3332. A cost is shared to the cent: 800.00 over 8,000 : 16,000 is
    266.67 and the rest 533.33."""
    day = date(2026, 1, 5)
    assert shares(Decimal(0), Decimal("10"), day,
                  [_line("L1", "50"), _line("L2", "50"), _line("L3", "100")]) == [
        Decimal("2.5000"), Decimal("2.5000"), Decimal("5.0000")]
    equal = [_line("L1", "50"), _line("L2", "50"), _line("L3", "50")]
    assert shares(Decimal(0), Decimal("1"), day, equal) == [
        Decimal("0.3333"), Decimal("0.3333"), Decimal("0.3334")]
    assert shares(Decimal("1"), Decimal("1"), day, equal) == [
        Decimal("0.3334"), Decimal("0.3334"), Decimal("0.3332")]
    by_cost = [_line("L1", "8000", by_cost=True), _line("L2", "16000", by_cost=True)]
    assert shares(Decimal(0), Decimal("800.00"), day, by_cost, Decimal("0.01")) == [
        Decimal("266.67"), Decimal("533.33")]
    assert shares(Decimal(0), Decimal("1"), day,
                  [_line("L1", "400"), _line("L2", "100"), _line("L3", "100")]) == [
        Decimal("0.6666"), Decimal("0.1667"), Decimal("0.1667")]  # L1, the largest, the rest
    assert shares(Decimal(0), Decimal("7.5"), day, equal[:1]) == [Decimal("7.5")]
    with pytest.raises(RevenueError, match="one has none"):
        shares(Decimal(0), Decimal("1"), day, [_line("L1", "50"), _line("L2", None)])


@example(entries=[Decimal("0.02")], estimates=[9485, 2079, 4959, 7014, 11])  # the last
# line's rest would be −0.0001 h: its rounded neighbours take more than the entry
@given(entries=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("24"),
                                    places=2), min_size=1, max_size=20),
       estimates=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1,
                          max_size=6))
def test_parts_add_up_to_each_entry_never_negative_and_never_drift(
        entries: list[Decimal], estimates: list[int]) -> None:
    """Whatever the entries and estimates: each entry's parts add up to it, none is
    negative, and each line's parts add up to its share of the whole (no drift)."""
    day = date(2026, 1, 5)
    lines = [_line(f"L{n}", str(e)) for n, e in enumerate(estimates)]
    before = Decimal(0)
    totals = [Decimal(0)] * len(lines)
    for hours in entries:
        parts = shares(before, hours, day, lines)
        assert sum(parts, Decimal(0)) == hours
        assert all(p >= 0 for p in parts)
        totals = [t + p for t, p in zip(totals, parts, strict=True)]
        before += hours
    assert totals == split(before, day, lines)
