"""Engine behaviour beyond the public cases: SSP methods, modifications, bitemporal, explain."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from syncline.revenue import (
    RevenueError,
    RevenuePolicy,
    combine,
    compare_known_at,
    compute_schedule,
    explain_allocation,
    explain_revenue,
    what_if,
)
from syncline.revenue.model import (
    Actual,
    ActualKind,
    Convention,
    Estimate,
    Method,
    MethodKind,
    Modification,
    Obligation,
    ObligationChange,
    RevenueContract,
    Ssp,
    SspMethod,
    Treatment,
)

P = RevenuePolicy()
S = date(2025, 1, 1)


def ob(oid: str, ssp: Ssp, kind: MethodKind = MethodKind.RATABLE, end: date = date(2025, 12, 31),
       price: str = "0") -> Obligation:
    return Obligation(oid, oid, Method(kind, convention=Convention.MONTHLY_EVEN), ssp, S, end,
                      D(price))


def test_residual_and_estimated_ssps() -> None:
    c = RevenueContract("R", "USD", S, fixed_price=D("1000"), obligations=(
        ob("a", Ssp(SspMethod.COST_PLUS, basis=D("200"), factor=D("0.5"))),
        ob("b", Ssp(SspMethod.PERCENT_OF_LIST, basis=D("500"), factor=D("0.8"))),
        ob("c", Ssp(SspMethod.RESIDUAL)),
    ))
    r = compute_schedule(c, P, S)
    lines = {a.obligation_id: a for a in r.segments[0].allocation.lines}
    assert (lines["a"].ssp, lines["b"].ssp, lines["c"].ssp) == (30000, 40000, 30000)
    assert sum(a.total for a in lines.values()) == 100000


def test_residual_refused_when_nothing_is_left() -> None:
    c = RevenueContract("R", "USD", S, fixed_price=D("100"), obligations=(
        ob("a", Ssp(SspMethod.OBSERVABLE, amount=D("150"))), ob("b", Ssp(SspMethod.RESIDUAL))))
    with pytest.raises(RevenueError) as exc:
        compute_schedule(c, P, S)
    assert exc.value.location == "obligations[1].ssp"


def _project() -> RevenueContract:
    build = Obligation("build", "build", Method(MethodKind.COST_TO_COST),
                       Ssp(SspMethod.OBSERVABLE, amount=D("1000")), S, date(2025, 12, 31),
                       D("1000"))
    return RevenueContract(
        "CC", "USD", S, obligations=(build,),
        estimates=(Estimate("build", S, D("800")),
                   Estimate("build", date(2025, 3, 1), D("1000"),
                            recorded_at=datetime(2025, 4, 10, tzinfo=UTC))),
        actuals=(Actual("build", ActualKind.COST, date(2025, 1, 31), D("200")),
                 Actual("build", ActualKind.COST, date(2025, 3, 31), D("200"))),
        modifications=(Modification("M", date(2025, 4, 1),
                                    changes=(ObligationChange("build", D("200")),)),),
    )


def test_partly_satisfied_single_obligation_is_a_catch_up() -> None:
    r = compute_schedule(_project(), P, date(2025, 4, 30))
    d = r.decisions[0]
    assert d.treatment is Treatment.CATCH_UP
    assert "partly satisfied" in d.tests[2].reason
    # 400 of 1000 = 40 %: 40 % x 1200 = 480, was 40 % x 1000 = 400 -> catch-up 80
    assert [c.amount for c in r.catch_ups if "modification" in c.cause] == [8000]
    assert r.line("build").cumulative[r.period_index("2025-04")] == 48000


def test_estimate_revision_is_known_only_after_it_is_recorded() -> None:
    c = _project()
    before = compute_schedule(c, P, date(2025, 3, 31), known_at=datetime(2025, 4, 5, tzinfo=UTC))
    now = compute_schedule(c, P, date(2025, 3, 31))
    k = now.period_index("2025-03")
    assert before.line("build").cumulative[k] == 50000  # 400 / 800
    assert now.line("build").cumulative[k] == 40000  # 400 / 1000
    cmp = compare_known_at(c, P, date(2025, 3, 31), datetime(2025, 4, 5, tzinfo=UTC))
    assert any(d.period == "2025-03" for d in cmp.differences)


def test_what_if_shows_three_treatments() -> None:
    """Price +200 from 2025-04-01 on a cost-to-cost build (1,000 then 1,200); costs 200
    (January, estimate 800: 250.00) and 200 more (March, estimate revised to 1,000:
    cumulative 400 / 1,000 x 1,000 = 400.00, so 150.00 in March); no cost after.

    - termination and new contract (prospective): the 800 left (1,200 - 400) is earned as
      the remaining costs are incurred; none are: to date 400.00, RPO 800.00;
    - cumulative catch-up: 40 % x 1,200 = 480.00 to date, 80.00 caught up in April (the
      modification month), RPO 720.00 (the one chosen: a partly satisfied obligation).
    """
    w = what_if(_project(), P, date(2025, 12, 31), "M")
    # a price-only change adds nothing: a separate contract is not applicable
    assert [o.treatment for o in w.outcomes] == [Treatment.PROSPECTIVE, Treatment.CATCH_UP]
    assert [t for t, _ in w.not_applicable] == [Treatment.SEPARATE_CONTRACT]
    got = {o.treatment: (o.chosen, o.revenue_to_date, o.catch_up, o.rpo,
                         {p: v for p, v in o.revenue_by_period if v})
           for o in w.outcomes}
    assert got == {
        Treatment.PROSPECTIVE: (False, 40000, 0, 80000, {"2025-01": 25000, "2025-03": 15000}),
        Treatment.CATCH_UP: (True, 48000, 8000, 72000,
                             {"2025-01": 25000, "2025-03": 15000, "2025-04": 8000}),
    }


def test_explanations_name_inputs_formula_and_rounding() -> None:
    r = compute_schedule(_project(), P, date(2025, 4, 30))
    e = explain_revenue(r, "build", "2025-01")
    assert e.amount == "250.00"  # 200 / 800 x 1000
    assert "ROUND_HALF_UP" in e.rounding
    assert "largest remainder" in explain_allocation(r, "build").rounding


def test_combination_keeps_the_sources() -> None:
    a = RevenueContract("A", "USD", S, obligations=(
        ob("x", Ssp(SspMethod.OBSERVABLE, amount=D("10")), price="10"),))
    b = RevenueContract("B", "USD", S, obligations=(
        ob("y", Ssp(SspMethod.OBSERVABLE, amount=D("30")), price="20"),))
    c = combine([a, b], "negotiated as a package (25-9(a))")
    r = compute_schedule(c, P, S)
    assert r.contract.combined_from == ("A", "B")
    assert {x.obligation_id: x.total for x in r.segments[0].allocation.lines} == {
        "x": 750, "y": 2250}
