"""Step 5 measures of progress: one same-shaped function per method.

Each function returns, for a sequence of cut-off days (ordinals, inclusive), the cumulative
progress ``num / den`` and an ``extra`` amount recognised outside progress (uninstalled
materials at zero margin, right-to-invoice amounts) with its planned total ``extra_total``.
The schedule turns them into money: ``round((alloc - extra_total) * num / den) + extra``.
Adding a method means adding a function to ``MEASURES``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate, pairwise

from syncline.revenue.calendar import month_index, month_start, months_ceil
from syncline.revenue.model import (
    Actual,
    ActualKind,
    Convention,
    Estimate,
    MethodKind,
    Obligation,
    RevenueError,
)

SCALE = 10_000  # quantities (hours, units, percent) as integers of 1/10,000
_MONTH_LCM = 377_580  # lcm(28, 29, 30, 31): a day of any month is a whole number of these


def qty(value: Decimal) -> int:
    return int((value * SCALE).to_integral_value())


@dataclass(frozen=True, slots=True)
class Measure:
    num: tuple[int, ...]
    den: tuple[int, ...]
    extra: tuple[int, ...]
    extra_total: tuple[int, ...]
    basis: str  # what progress measures, for explanations


@dataclass(frozen=True, slots=True)
class ObligationFacts:
    actuals: tuple[Actual, ...]  # sorted by date
    estimates: tuple[Estimate, ...]  # sorted by effective date
    as_of: int  # ordinal: facts after it are unknown; later cut-offs are forecasts
    currency_scale: int  # 10 ** minor unit
    # the actuals by kind, and their running totals already converted to integers per
    # (kind, scale, rounding): a schedule measures the same facts several times (its
    # periods, the as-of date, modifications), each conversion is done once
    by_kind: dict[ActualKind, list[Actual]] = field(
        default_factory=dict, compare=False, repr=False, hash=False)
    memo: dict[tuple[ActualKind, int, bool], tuple[list[int], list[int]]] = field(
        default_factory=dict, compare=False, repr=False, hash=False)


def _of_kind(f: ObligationFacts, kind: ActualKind) -> list[Actual]:
    """The actuals of ``kind``, in date order."""
    groups = f.by_kind
    if not groups and f.actuals:
        for a in f.actuals:
            if a.kind.__class__ is ActualKind:  # a kind is matched by identity, as `is`
                groups.setdefault(a.kind, []).append(a)
        if not groups:
            groups[kind] = []
    return groups.get(kind, [])


def _running(f: ObligationFacts, kind: ActualKind, scale: int, exact: bool
             ) -> tuple[list[int], list[int]]:
    """Days of the actuals of ``kind`` and the running total before each (``acc[0] == 0``).

    Quantities are integers of ``1 / scale``: truncated (``int``), or rounded by the
    context (``exact``, as ``qty`` does).
    """
    key = (kind, scale, exact)
    hit = f.memo.get(key)
    if hit is None:
        acts = _of_kind(f, kind)
        days = [a.date.toordinal() for a in acts]
        if exact:
            vals = [int((a.quantity * scale).to_integral_value()) for a in acts]
        else:
            vals = [int(a.quantity * scale) for a in acts]
        hit = f.memo[key] = (days, list(accumulate(vals, initial=0)))
    return hit


def _cumulative(f: ObligationFacts, kind: ActualKind, cutoffs: Sequence[int], scale: int,
                exact: bool = False) -> list[int]:
    """The running total of the actuals of ``kind`` at each cut-off (inclusive)."""
    days, acc = _running(f, kind, scale, exact)
    if not days:
        return [0] * len(cutoffs)
    return [acc[bisect_right(days, c)] for c in cutoffs]


_CONST_COLUMNS: dict[tuple[int, int], tuple[int, ...]] = {}


def const_column(value: int, n: int) -> tuple[int, ...]:
    """``(value,) * n``, one shared tuple per length (tuples are immutable)."""
    t = _CONST_COLUMNS.get((value, n))
    if t is None:
        t = (value,) * n
        if len(_CONST_COLUMNS) < 1024:
            _CONST_COLUMNS[value, n] = t
    return t


def _zeros(n: int) -> tuple[int, ...]:
    return const_column(0, n)


def _ones(n: int) -> tuple[int, ...]:
    return const_column(1, n)


def _measure_ratable(ob: Obligation, cutoffs: Sequence[int], f: ObligationFacts,
                     convention: Convention) -> Measure:
    """Ratable progress depends on dates only: memoised, portfolios share their calendars."""
    return _ratable(ob.start, ob.end, ob.method.start_instant, ob.method.end_instant,
                    tuple(cutoffs), convention)


@lru_cache(maxsize=8192)
def _ratable(start: date, end: date, start_instant: datetime | None,
             end_instant: datetime | None, cutoffs: tuple[int, ...],
             convention: Convention) -> Measure:
    n = len(cutoffs)
    ob = _Span(start, end, start_instant, end_instant)
    m = ob
    if convention is Convention.DAILY:
        s, total = ob.start.toordinal(), (ob.end - ob.start).days + 1
        num = tuple(min(max(c - s + 1, 0), total) for c in cutoffs)
        return Measure(num, (total,) * n, _zeros(n), _zeros(n), f"days elapsed of {total}")
    if convention is Convention.MONTHLY_EVEN:
        months = months_ceil(ob.start, ob.end)
        m0 = month_index(ob.start)
        nums = []
        for c in cutoffs:
            d = date.fromordinal(c)
            k = month_index(d) - m0 + (1 if date.fromordinal(c + 1).day == 1 else 0)
            nums.append(min(max(k, 0), months))
        return Measure(tuple(nums), (months,) * n, _zeros(n), _zeros(n),
                       f"whole months elapsed of {months}")
    if convention is Convention.MONTHLY_RATE:
        return _monthly_rate(ob.start, ob.end, cutoffs)
    # time-based conventions: positions in seconds when instants are given, else in days
    if m.start_instant is not None and m.end_instant is not None:
        unit = 1
        s_pos = _secs(m.start_instant)
        e_pos = _secs(m.end_instant)

        def pos(day: date) -> int:
            return _secs(datetime.combine(day, time(0), tzinfo=UTC))

        label = "seconds"
    else:
        unit = 86400
        s_pos = ob.start.toordinal()
        e_pos = ob.end.toordinal() + 1

        def pos(day: date) -> int:
            return day.toordinal()

        label = "days"
    total = e_pos - s_pos
    if total <= 0:
        raise RevenueError("obligations.end", "service ends before it starts")
    xs = [pos(date.fromordinal(c + 1)) for c in cutoffs]
    if convention is Convention.EXACT_TIME:
        num = tuple(min(max(x - s_pos, 0), total) for x in xs)
        return Measure(num, (total,) * n, _zeros(n), _zeros(n), f"{label} elapsed of {total}")
    # MONTHLY_PRORATED: part months by time, whole months evenly
    start_day = (m.start_instant.date() if m.start_instant and unit == 1 else ob.start)
    bounds = []
    i = month_index(start_day) + 1
    while True:
        b = pos(month_start(i))
        if b >= e_pos:
            break
        bounds.append(b)
        i += 1
    edges = [s_pos, *bounds, e_pos]
    segs = list(pairwise(edges))
    first_partial = pos(month_start(month_index(start_day))) != s_pos
    last_partial = bool(bounds) and e_pos != pos(month_start(i))
    full = [sg for k, sg in enumerate(segs)
            if not (k == 0 and first_partial) and not (k == len(segs) - 1 and last_partial)]
    if not full or len(segs) == 1:
        num = tuple(min(max(x - s_pos, 0), total) for x in xs)
        return Measure(num, (total,) * n, _zeros(n), _zeros(n), f"{label} elapsed of {total}")
    df = segs[0][1] - segs[0][0] if first_partial else 0
    dl = segs[-1][1] - segs[-1][0] if last_partial else 0
    nf = len(full)
    body = total - df - dl
    # a cut-off inside a whole month (a modification's day before, an estimate's): that
    # month by time within it, so progress never steps over the days already served; every
    # amount is then in units of 1 / (lcm(28..31) x unit) of a month, to stay an integer
    scale = _MONTH_LCM * unit if any(a < x < b for x in xs for a, b in full) else 1
    nums = []
    for x in xs:
        v = 0
        if first_partial:
            v += min(max(x - segs[0][0], 0), df) * nf * scale
        v += sum(1 for a, b in full if x >= b) * body * scale
        if scale > 1:
            v += sum((x - a) * body * (scale // (b - a)) for a, b in full if a < x < b)
        if last_partial:
            v += min(max(x - segs[-1][0], 0), dl) * nf * scale
        nums.append(v)
    return Measure(tuple(nums), (total * nf * scale,) * n, _zeros(n), _zeros(n),
                   f"part months by {label}, {nf} whole months evenly")


def _monthly_rate(start: date, end: date, cutoffs: Sequence[int]) -> Measure:
    """Price / months of the term, each whole month one month's rate and a part month that
    rate x its days in the term / the days of the month; progress is the months elapsed over
    the months of the term, in integers of 1 / lcm(28..31) of a month."""
    first, last = month_index(start), month_index(end)
    s_ord, e_ord = start.toordinal(), end.toordinal()
    months = []  # (first day in term, last day in term, units per day)
    for i in range(first, last + 1):
        lo, hi = month_start(i).toordinal(), month_start(i + 1).toordinal() - 1
        months.append((max(lo, s_ord), min(hi, e_ord), _MONTH_LCM // (hi - lo + 1)))
    total = sum((b - a + 1) * u for a, b, u in months)
    nums = tuple(sum(max(min(c, b) - a + 1, 0) * u for a, b, u in months) for c in cutoffs)
    n = len(cutoffs)
    return Measure(nums, (total,) * n, _zeros(n), _zeros(n),
                   f"months of the term elapsed (part months by their days) of "
                   f"{Decimal(total) / _MONTH_LCM:.4f}")


@dataclass(frozen=True, slots=True)
class _Span:
    start: date
    end: date
    start_instant: datetime | None
    end_instant: datetime | None


def _secs(t: datetime) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp())


def _measure_input(ob: Obligation, cutoffs: Sequence[int], f: ObligationFacts,
                   hours: bool) -> Measure:
    scale = SCALE if hours else f.currency_scale
    kind = ActualKind.HOURS if hours else ActualKind.COST
    done = _cumulative(f, kind, cutoffs, scale)
    mats = (_cumulative(f, ActualKind.UNINSTALLED_MATERIAL, cutoffs, scale)
            if not hours else [0] * len(cutoffs))
    basis = ("hours incurred / estimated hours at completion" if hours else
             "costs incurred / estimated costs at completion, both excluding uninstalled "
             "materials and inefficiencies (55-21)")
    ests = f.estimates
    n = len(cutoffs)
    if not ests:
        return Measure(_zeros(n), _ones(n), _zeros(n), _zeros(n), basis)
    # the estimate in force at each cut-off: the last effective by it, never after as_of
    effective = [e.effective.toordinal() for e in ests]
    as_of = f.as_of
    idx = [bisect_right(effective, c if c < as_of else as_of) for c in cutoffs]
    den_of: dict[int, tuple[int, int]] = {0: (1, 0)}  # estimate -> (den, uninstalled)
    for i in idx:
        if i not in den_of:
            est = ests[i - 1]
            m_total = 0 if hours else int(est.uninstalled_materials * scale)
            den = int(est.total * scale) - m_total
            if den <= 0:
                raise RevenueError(f"estimates[{ob.id}].total",
                                   "estimate at completion must exceed uninstalled materials")
            den_of[i] = (den, m_total)
    dens = [den_of[i][0] for i in idx]
    if 0 in idx:  # before the first estimate: no progress, nothing outside it
        done = [0 if i == 0 else d for i, d in zip(idx, done, strict=True)]
        mats = [0 if i == 0 else m for i, m in zip(idx, mats, strict=True)]
    nums = [d if d < dn else dn for d, dn in zip(done, dens, strict=True)]
    if hours:
        return Measure(tuple(nums), tuple(dens), _zeros(n), _zeros(n), basis)
    xt = [den_of[i][1] for i in idx]
    extra = [m if m < t else t for m, t in zip(mats, xt, strict=True)]
    return Measure(tuple(nums), tuple(dens), tuple(extra), tuple(xt), basis)


def _measure_units(ob: Obligation, cutoffs: Sequence[int], f: ObligationFacts) -> Measure:
    if ob.method.units is None or ob.method.units <= 0:
        raise RevenueError(f"obligations[{ob.id}].method.units",
                           "a positive unit count is required")
    total = qty(ob.method.units)
    done = _cumulative(f, ActualKind.UNITS, cutoffs, SCALE, exact=True)
    n = len(cutoffs)
    return Measure(tuple(min(d, total) for d in done), (total,) * n, _zeros(n), _zeros(n),
                   f"units delivered of {ob.method.units}")


def _measure_milestones(ob: Obligation, cutoffs: Sequence[int], f: ObligationFacts) -> Measure:
    weights = {ms.id: qty(ms.weight) for ms in ob.method.milestones}
    total = sum(weights.values())
    if total <= 0:
        raise RevenueError(f"obligations[{ob.id}].method.milestones",
                           "milestones with positive weights are required")
    # a milestone counts from its first acceptance, once
    first: dict[str, int] = {}
    for a in _of_kind(f, ActualKind.MILESTONE):  # sorted by date
        if a.ref in weights:
            d = a.date.toordinal()
            if d < first.get(a.ref, d + 1):
                first[a.ref] = d
    days: list[int] = []
    acc = [0]
    for d, ref in sorted((d, ref) for ref, d in first.items()):
        days.append(d)
        acc.append(acc[-1] + weights[ref])
    n = len(cutoffs)
    return Measure(tuple(acc[bisect_right(days, c)] for c in cutoffs), (total,) * n,
                   _zeros(n), _zeros(n), "weights of accepted milestones / all milestone weights")


def _measure_percent(ob: Obligation, cutoffs: Sequence[int], f: ObligationFacts) -> Measure:
    days: list[int] = []
    vals = [0]  # the last observation by each cut-off (0 before the first)
    for a in _of_kind(f, ActualKind.PERCENT):  # sorted by date
        days.append(a.date.toordinal())
        vals.append(qty(a.quantity))
    top = 100 * SCALE
    n = len(cutoffs)
    return Measure(tuple(min(vals[bisect_right(days, c)], top) for c in cutoffs), (top,) * n,
                   _zeros(n), _zeros(n), "observed percent complete")


def _measure_point(ob: Obligation, cutoffs: Sequence[int], f: ObligationFacts) -> Measure:
    delivered = [a.date.toordinal() for a in f.actuals
                 if a.kind in (ActualKind.DELIVERY, ActualKind.MILESTONE)]
    when = min(delivered) if delivered else None
    planned = (ob.method.delivery or ob.end).toordinal()
    nums = []
    for c in cutoffs:
        if when is not None:
            nums.append(1 if when <= c else 0)
        else:  # not yet delivered: a forecast at the planned date, never before as_of
            nums.append(1 if c > f.as_of and planned <= c else 0)
    n = len(cutoffs)
    return Measure(tuple(nums), _ones(n), _zeros(n), _zeros(n),
                   "control transferred (delivery or acceptance)")


def _measure_invoice(ob: Obligation, cutoffs: Sequence[int], f: ObligationFacts) -> Measure:
    done = _cumulative(f, ActualKind.BILLABLE, cutoffs, f.currency_scale)
    total = _cumulative(f, ActualKind.BILLABLE, [f.as_of], f.currency_scale)[0]
    n = len(cutoffs)
    return Measure(_zeros(n), _ones(n), tuple(done), (total,) * n,
                   "amount the entity has a right to invoice for work performed (B-16)")


Measurer = Callable[[Obligation, Sequence[int], ObligationFacts, Convention], Measure]

MEASURES: dict[MethodKind, Measurer] = {
    MethodKind.RATABLE: _measure_ratable,
    MethodKind.COST_TO_COST: lambda ob, c, f, _cv: _measure_input(ob, c, f, hours=False),
    MethodKind.HOURS: lambda ob, c, f, _cv: _measure_input(ob, c, f, hours=True),
    MethodKind.UNITS: lambda ob, c, f, _cv: _measure_units(ob, c, f),
    MethodKind.MILESTONES: lambda ob, c, f, _cv: _measure_milestones(ob, c, f),
    MethodKind.PERCENT_COMPLETE: lambda ob, c, f, _cv: _measure_percent(ob, c, f),
    MethodKind.POINT_IN_TIME: lambda ob, c, f, _cv: _measure_point(ob, c, f),
    MethodKind.RIGHT_TO_INVOICE: lambda ob, c, f, _cv: _measure_invoice(ob, c, f),
}


def measure(ob: Obligation, cutoffs: Sequence[int], facts: ObligationFacts,
            default_convention: Convention) -> Measure:
    return MEASURES[ob.method.kind](ob, cutoffs, facts, ob.method.convention or default_convention)
