"""Properties of the revenue engine (hypothesis).

- allocations sum to the transaction price in every currency's minor unit;
- schedules sum exactly to the allocation (cumulative rounding), JPY / USD / KWD;
- recognised revenue never exceeds the constrained transaction price;
- a schedule recomputed from the same facts is identical;
- journal entries are balanced and revenue in them equals the schedule.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.revenue import RevenuePolicy, compute_schedule, journal_entries
from syncline.revenue.model import (
    Actual,
    ActualKind,
    Convention,
    Estimate,
    Method,
    MethodKind,
    Obligation,
    RevenueContract,
    Scenario,
    ScheduleRounding,
    Ssp,
    SspMethod,
    VariableEstimate,
    VariableMethod,
)

CURRENCIES = st.sampled_from(["JPY", "USD", "KWD"])
CONVENTIONS = st.sampled_from(list(Convention))
START = date(2024, 1, 1)


@st.composite
def contracts(draw: st.DrawFn) -> RevenueContract:
    cur = draw(CURRENCIES)
    q = {"JPY": 0, "USD": 2, "KWD": 3}[cur]
    n = draw(st.integers(1, 4))
    obs = []
    actuals = []
    estimates = []
    for i in range(n):
        start = START + timedelta(days=draw(st.integers(0, 200)))
        end = start + timedelta(days=draw(st.integers(0, 900)))
        ssp = D(draw(st.integers(1, 10**7))).scaleb(-q)
        kind = draw(st.sampled_from([MethodKind.RATABLE, MethodKind.COST_TO_COST,
                                     MethodKind.POINT_IN_TIME, MethodKind.PERCENT_COMPLETE]))
        method = Method(kind, convention=draw(CONVENTIONS) if kind is MethodKind.RATABLE
                        else None)
        if method.convention is Convention.EXACT_TIME:
            method = Method(kind, convention=Convention.DAILY)
        obs.append(Obligation(f"o{i}", f"o{i}", method, Ssp(SspMethod.OBSERVABLE, amount=ssp),
                              start, end, price=ssp))
        if kind is MethodKind.COST_TO_COST:
            estimates.append(Estimate(f"o{i}", start, D(1000)))
            parts = [draw(st.integers(0, 300)) for _ in range(3)]
            actuals += [Actual(f"o{i}", ActualKind.COST, start + timedelta(days=30 * k),
                               D(v)) for k, v in enumerate(parts)]
            # the last cost lands at the end: the input method completes
            actuals.append(Actual(f"o{i}", ActualKind.COST, end, D(1000 - sum(parts))))
        if kind is MethodKind.PERCENT_COMPLETE:
            actuals.append(Actual(f"o{i}", ActualKind.PERCENT, end, D(100)))
        if kind is MethodKind.POINT_IN_TIME:
            actuals.append(Actual(f"o{i}", ActualKind.DELIVERY, end))
    price_units = draw(st.integers(1, 4 * 10**7))
    variable = ()
    if draw(st.booleans()):
        amt = D(draw(st.integers(0, 10**6))).scaleb(-q)
        variable = (VariableEstimate("v", START, VariableMethod.EXPECTED_VALUE,
                                     (Scenario(amt, D("0.3")), Scenario(D(0), D("0.7"))),
                                     constraint_cap=amt / 4),
                    VariableEstimate("v", START + timedelta(days=300),
                                     VariableMethod.MOST_LIKELY, (Scenario(amt, D(1)),)))
    return RevenueContract(id="P", currency=cur, start=START, obligations=tuple(obs),
                           fixed_price=D(price_units).scaleb(-q), variable=variable,
                           actuals=tuple(actuals), estimates=tuple(estimates))


AS_OF = date(2028, 12, 31)  # after every obligation ends: schedules are complete


@settings(max_examples=120, deadline=None)
@given(contracts(), st.sampled_from(list(ScheduleRounding)))
def test_allocation_and_schedule_sum_exactly(c: RevenueContract, sr: ScheduleRounding) -> None:
    r = compute_schedule(c, RevenuePolicy(schedule_rounding=sr), AS_OF)
    seg = r.segments[0]
    assert sum(a.total for a in seg.allocation.lines) == seg.allocation.transaction_price
    for ln in r.obligations:
        assert sum(ln.revenue) == ln.cumulative[-1] == ln.allocated[-1]


@settings(max_examples=80, deadline=None)
@given(contracts(), st.dates(date(2024, 1, 1), date(2027, 12, 31)))
def test_revenue_never_exceeds_constrained_price(c: RevenueContract, as_of: date) -> None:
    r = compute_schedule(c, RevenuePolicy(), as_of)
    tp = r.segments[0].allocation.transaction_price
    for k in range(len(r.periods)):
        assert r.cumulative_at(k) <= tp


@settings(max_examples=60, deadline=None)
@given(contracts())
def test_recompute_is_identical_and_journal_balanced(c: RevenueContract) -> None:
    a = compute_schedule(c, RevenuePolicy(), AS_OF)
    b = compute_schedule(c, RevenuePolicy(), AS_OF)
    assert a == b
    entries = journal_entries(a, "E1")
    posted = sum(ln.amount.amount if ln.side.value == "credit" else -ln.amount.amount
                 for e in entries for ln in e.lines if ln.account == "revenue")
    assert posted == sum(ln.cumulative[a.as_of_index] for ln in a.obligations) * D(1).scaleb(
        -{"JPY": 0, "USD": 2, "KWD": 3}[c.currency])
