"""The revenue engine's fast paths agree with the slow, obvious computation (hypothesis).

- ``split_units`` (integer largest remainder) gives the parts of
  ``ledger.money.largest_remainder`` for any integer total and weights, ties included;
- the measures of progress (running totals by bisection, converted once) equal a scan of
  every fact at every cut-off, as the formula reads;
- ``_cumulate`` (integer half-up in one comprehension) equals ``rdiv`` period by period;
- ``known_view`` without a cut returns a view equal to the filtered contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.ledger.money import largest_remainder
from syncline.revenue.allocation import split_units
from syncline.revenue.facts import known_view
from syncline.revenue.measures import SCALE, Measure, ObligationFacts, measure, qty
from syncline.revenue.model import (
    ROUNDING_MODES,
    Actual,
    ActualKind,
    Convention,
    Estimate,
    Method,
    MethodKind,
    Milestone,
    Obligation,
    RevenueContract,
    RevenueError,
    Ssp,
    SspMethod,
)
from syncline.revenue.schedule.progress import _cumulate
from syncline.revenue.units import rdiv

D0 = date(2024, 1, 1)


def _ledger(total: int, weights: Sequence[int]) -> tuple[int, ...] | str:
    try:
        return largest_remainder(total, weights)
    except ValueError as exc:
        return str(exc)


def _fast(total: int, weights: Sequence[int]) -> tuple[int, ...] | str:
    try:
        return split_units(total, weights)
    except ValueError as exc:
        return str(exc)


@settings(max_examples=400, deadline=None)
@given(st.integers(-50, 200), st.lists(st.integers(0, 15), min_size=1, max_size=5))
def test_split_units_is_the_ledger_split_small(total: int, weights: list[int]) -> None:
    """Small weights: many equal remainders, the cases the ledger's rounding decides."""
    assert _fast(total, weights) == _ledger(total, weights)


@settings(max_examples=400, deadline=None)
@given(st.integers(-(10**16), 10**16),
       st.lists(st.integers(0, 10**14), min_size=1, max_size=6))
def test_split_units_is_the_ledger_split_large(total: int, weights: list[int]) -> None:
    """Amounts up to and past the precision bound, where the ledger rounds its shares."""
    assert _fast(total, weights) == _ledger(total, weights)


def test_split_units_keeps_the_ledger_tie_order() -> None:
    # shares 1/7, 3/7, 10/7: equal remainders 3/7; the ledger's Decimal rounding gives the
    # extra unit to the last, not the earlier weight; the fast path must not "fix" it
    assert split_units(2, [1, 3, 10]) == largest_remainder(2, [1, 3, 10])
    assert _fast(-7, [0, 0]) == _ledger(-7, [0, 0])  # refused alike
    with pytest.raises(ValueError):
        split_units(5, [])
    with pytest.raises(ValueError):
        split_units(5, [1, -1])


# --- measures ---------------------------------------------------------------------------


def _ref_cumulative(actuals: Sequence[Actual], kind: ActualKind, c: int, scale: int,
                    exact: bool = False) -> int:
    total = 0
    for a in actuals:
        if a.kind is kind and a.date.toordinal() <= c:
            total += (int((a.quantity * scale).to_integral_value()) if exact
                      else int(a.quantity * scale))
    return total


def _ref_measure(ob: Obligation, cutoffs: Sequence[int], f: ObligationFacts) -> Measure:
    """Each method as the module doc states it, one cut-off at a time, every fact scanned."""
    kind = ob.method.kind
    n = len(cutoffs)
    zeros = (0,) * n
    if kind in (MethodKind.COST_TO_COST, MethodKind.HOURS):
        hours = kind is MethodKind.HOURS
        scale = SCALE if hours else f.currency_scale
        nums, dens, extra, xt = [], [], [], []
        for c in cutoffs:
            est = None
            for e in f.estimates:
                if e.effective.toordinal() <= min(c, f.as_of):
                    est = e
            if est is None:
                nums.append(0)
                dens.append(1)
                extra.append(0)
                xt.append(0)
                continue
            m_total = 0 if hours else int(est.uninstalled_materials * scale)
            den = int(est.total * scale) - m_total
            if den <= 0:
                raise RevenueError(f"estimates[{ob.id}].total",
                                   "estimate at completion must exceed uninstalled materials")
            nums.append(min(_ref_cumulative(f.actuals, ActualKind.HOURS if hours
                                             else ActualKind.COST, c, scale), den))
            dens.append(den)
            mats = 0 if hours else _ref_cumulative(f.actuals, ActualKind.UNINSTALLED_MATERIAL,
                                                   c, scale)
            extra.append(min(mats, m_total))
            xt.append(m_total)
        return Measure(tuple(nums), tuple(dens), tuple(extra), tuple(xt), "")
    if kind is MethodKind.UNITS:
        assert ob.method.units is not None
        total = qty(ob.method.units)
        return Measure(tuple(min(_ref_cumulative(f.actuals, ActualKind.UNITS, c, SCALE, True),
                                 total) for c in cutoffs), (total,) * n, zeros, zeros, "")
    if kind is MethodKind.MILESTONES:
        weights = {ms.id: qty(ms.weight) for ms in ob.method.milestones}
        if sum(weights.values()) <= 0:
            raise RevenueError(f"obligations[{ob.id}].method.milestones",
                               "milestones with positive weights are required")
        nums = []
        for c in cutoffs:
            seen = {a.ref for a in f.actuals if a.kind is ActualKind.MILESTONE
                    and a.ref in weights and a.date.toordinal() <= c}
            nums.append(sum(weights[r] for r in seen))
        return Measure(tuple(nums), (sum(weights.values()),) * n, zeros, zeros, "")
    if kind is MethodKind.PERCENT_COMPLETE:
        nums = []
        for c in cutoffs:
            cur = 0
            for a in f.actuals:
                if a.kind is ActualKind.PERCENT and a.date.toordinal() <= c:
                    cur = qty(a.quantity)
            nums.append(min(cur, 100 * SCALE))
        return Measure(tuple(nums), (100 * SCALE,) * n, zeros, zeros, "")
    assert kind is MethodKind.RIGHT_TO_INVOICE
    done = tuple(_ref_cumulative(f.actuals, ActualKind.BILLABLE, c, f.currency_scale)
                 for c in cutoffs)
    total = _ref_cumulative(f.actuals, ActualKind.BILLABLE, f.as_of, f.currency_scale)
    return Measure(zeros, (1,) * n, done, (total,) * n, "")


KINDS = [MethodKind.COST_TO_COST, MethodKind.HOURS, MethodKind.UNITS, MethodKind.MILESTONES,
         MethodKind.PERCENT_COMPLETE, MethodKind.RIGHT_TO_INVOICE]
FACT_KINDS = [ActualKind.COST, ActualKind.UNINSTALLED_MATERIAL, ActualKind.HOURS,
              ActualKind.UNITS, ActualKind.BILLABLE, ActualKind.PERCENT, ActualKind.MILESTONE]


@st.composite
def obligation_facts(draw: st.DrawFn) -> tuple[Obligation, list[int], ObligationFacts]:
    kind = draw(st.sampled_from(KINDS))
    ms = tuple(Milestone(f"m{j}", D(draw(st.integers(0, 4)))) for j in range(3))
    method = Method(kind, milestones=ms if kind is MethodKind.MILESTONES else (),
                    units=D(draw(st.integers(1, 400))) / 4 if kind is MethodKind.UNITS else None)
    ob = Obligation("o", "o", method, Ssp(SspMethod.OBSERVABLE, amount=D(1)), D0,
                    D0 + timedelta(days=700))
    day = st.integers(-30, 800).map(lambda k: D0 + timedelta(days=k))
    quantity = st.integers(-2000, 50_000).map(lambda v: D(v) / 100)
    actuals = draw(st.lists(st.builds(
        Actual, st.just("o"), st.sampled_from(FACT_KINDS), day, quantity,
        st.sampled_from(["m0", "m1", "m2", "zz"])), max_size=25))
    estimates = draw(st.lists(st.builds(
        Estimate, st.just("o"), day, st.integers(1, 10**6).map(lambda v: D(v) / 100),
        st.integers(-100, 10**4).map(lambda v: D(v) / 100)), max_size=4))
    as_of = D0.toordinal() + draw(st.integers(-10, 900))
    cutoffs = sorted(draw(st.lists(st.integers(D0.toordinal() - 40, D0.toordinal() + 900),
                                   min_size=1, max_size=40, unique=True)))
    scale = draw(st.sampled_from([1, 100, 1000]))
    facts = ObligationFacts(tuple(sorted(actuals, key=lambda a: a.date)),
                            tuple(sorted(estimates, key=lambda e: e.effective)), as_of, scale)
    return ob, cutoffs, facts


@settings(max_examples=300, deadline=None)
@given(obligation_facts())
def test_measures_equal_a_scan_of_every_fact(case: tuple[Obligation, list[int],
                                                         ObligationFacts]) -> None:
    ob, cutoffs, facts = case
    try:
        expected: Measure | str = _ref_measure(ob, cutoffs, facts)
    except RevenueError as exc:
        expected = str(exc)
    for _ in range(2):  # the second run reads the memoised running totals
        try:
            got: Measure | str = measure(ob, cutoffs, facts, Convention.DAILY)
        except RevenueError as exc:
            got = str(exc)
        if isinstance(got, Measure):
            got = replace(got, basis="")
        assert got == expected


# --- cumulative rounding ----------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(1, 40), st.sampled_from(ROUNDING_MODES), st.integers(0, 10**6))
def test_cumulate_equals_rdiv_per_period(data: st.DataObject, n: int, rounding: str,
                                         base: int) -> None:
    ints = st.integers(-(10**7), 10**7)
    small = st.integers(0, 10**4)
    plain = data.draw(st.booleans())
    const = data.draw(st.booleans())
    nums = data.draw(st.lists(small if plain else ints, min_size=n, max_size=n))
    d = data.draw(st.integers(1, 10**5))
    dens = [d] * n if const else data.draw(st.lists(st.integers(1, 10**5), min_size=n,
                                                    max_size=n))
    xs = [0] * n if plain else data.draw(st.lists(ints, min_size=n, max_size=n))
    xts = [0] * n if plain else data.draw(st.lists(ints, min_size=n, max_size=n))
    alloc: int | list[int] = (data.draw(small if plain else ints) if data.draw(st.booleans())
                              else data.draw(st.lists(small if plain else ints,
                                                      min_size=n, max_size=n)))
    allocs = [alloc] * n if isinstance(alloc, int) else alloc
    expected = [base + rdiv((a - xt) * nn, dd, rounding) + x
                for a, nn, dd, x, xt in zip(allocs, nums, dens, xs, xts, strict=True)]
    assert _cumulate(alloc, nums, dens, xs, xts, base, rounding) == expected


# --- as known at --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 5), max_size=6), st.integers(-3, 3))
def test_known_view_without_a_cut_is_the_filtered_contract(days: list[int], shift: int) -> None:
    as_of = D0 + timedelta(days=100)
    ob = Obligation("o", "o", Method(MethodKind.HOURS), Ssp(SspMethod.OBSERVABLE, amount=D(1)),
                    D0, as_of)
    c = RevenueContract("C", "USD", D0, (ob,), actuals=tuple(
        Actual("o", ActualKind.HOURS, as_of + timedelta(days=k), D(1)) for k in days),
        estimates=(Estimate("o", as_of + timedelta(days=shift), D(10)),))
    filtered = replace(c, actuals=tuple(a for a in c.actuals if a.date <= as_of),
                       estimates=tuple(e for e in c.estimates if e.effective <= as_of))
    assert known_view(c, as_of, None) == filtered
