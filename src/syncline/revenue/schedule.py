"""The revenue schedule: the five steps run as one pipeline over monthly periods.

How a number is made. For each obligation and each period end, the measure of progress
(``measures``) gives ``num / den`` and the allocation (``allocation``) gives the amount in
force; cumulative revenue is ``base + round((alloc - extra_total) * num / den) + extra`` in
integer minor units, and the period's revenue is the difference of two cumulatives. That is
cumulative rounding: every period is rounded once, and the schedule sums exactly to the
allocation, whatever the currency's minor unit.

A contract lives in *segments*. The first starts at inception. A modification either opens
a separate contract (its own segment, alongside), or replaces the current segment from its
effective date: prospectively (the unrecognised consideration plus the new consideration is
allocated to what remains, progress rebased to the modification date, revenue already
recognised kept as ``base``) or by cumulative catch-up (the whole contract re-allocated and
re-measured from inception; the jump in the period of the modification is the catch-up). A
change in the estimate of variable consideration inside a segment re-allocates the price
and produces a catch-up the same way (32-42 to 32-45).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter

from syncline.ledger.money import minor_unit
from syncline.revenue.allocation import (
    Allocation,
    SspLine,
    allocate,
    is_allocable,
    resolve_ssps,
)
from syncline.revenue.calendar import Period, calendar_between
from syncline.revenue.facts import known_view
from syncline.revenue.measures import Measure, ObligationFacts, const_column, measure
from syncline.revenue.model import (
    Actual,
    DiscountAllocation,
    Estimate,
    MethodKind,
    Modification,
    Obligation,
    RevenueContract,
    RevenueError,
    RevenuePolicy,
    ScheduleRounding,
    Treatment,
)
from syncline.revenue.modifications import (
    ModificationDecision,
    apply_changes,
    classify,
    separate_obligations,
)
from syncline.revenue.price import (
    TransactionPrice,
    VariableComponent,
    VariableTimeline,
    variable_timeline,
)
from syncline.revenue.units import rdiv, to_units


@dataclass(frozen=True, slots=True)
class ObligationSchedule:
    """One obligation over the periods; all amounts in minor units, explanation data kept."""

    obligation_id: str
    contract_id: str
    description: str
    method: MethodKind
    start: date
    end: date
    cumulative: tuple[int, ...]
    allocated: tuple[int, ...]  # consideration attributed to the obligation at each period
    num: tuple[int, ...]
    den: tuple[int, ...]
    extra: tuple[int, ...]
    extra_total: tuple[int, ...]
    base: tuple[int, ...]
    segment: tuple[int, ...]
    basis: str

    @property
    def revenue(self) -> tuple[int, ...]:
        prev = 0
        out = []
        for c in self.cumulative:
            out.append(c - prev)
            prev = c
        return tuple(out)


@dataclass(frozen=True, slots=True)
class CatchUp:
    obligation_id: str
    period: str
    amount: int
    cause: str


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    index: int
    kind: str  # inception | separate_contract | termination_and_new_contract | ...
    contract_id: str
    starts: date
    modification_id: str | None
    allocation: Allocation
    transaction_price: TransactionPrice


@dataclass(frozen=True, slots=True)
class Issue:
    location: str
    rule: str


@dataclass(frozen=True, slots=True)
class ContractStep:
    contract_id: str
    customer: str
    currency: str
    combined_from: tuple[str, ...]
    combination_reason: str


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    contract: ContractStep
    currency: str
    as_of: date
    known_at: datetime | None
    policy: RevenuePolicy
    periods: tuple[Period, ...]
    as_of_index: int
    obligations: tuple[ObligationSchedule, ...]
    segments: tuple[SegmentInfo, ...]
    decisions: tuple[ModificationDecision, ...]
    catch_ups: tuple[CatchUp, ...]
    issues: tuple[Issue, ...]
    source: RevenueContract = field(repr=False, compare=False)

    @property
    def transaction_price(self) -> TransactionPrice:
        return self.segments[0].transaction_price

    def line(self, obligation_id: str) -> ObligationSchedule:
        for ln in self.obligations:
            if ln.obligation_id == obligation_id:
                return ln
        raise KeyError(obligation_id)

    def period_index(self, key: str) -> int:
        for i, p in enumerate(self.periods):
            if p.key == key:
                return i
        raise KeyError(key)

    def revenue_by_period(self) -> tuple[int, ...]:
        n = len(self.periods)
        tot = [0] * n
        for ln in self.obligations:
            for k, v in enumerate(ln.revenue):
                tot[k] += v
        return tuple(tot)

    def cumulative_at(self, index: int) -> int:
        return sum(ln.cumulative[index] for ln in self.obligations) if index >= 0 else 0


# --- segments ----------------------------------------------------------------------------


@dataclass(slots=True)
class _SegOb:
    ob: Obligation
    weight: int = 0
    ssp: SspLine | None = None
    base: int = 0
    rebase: tuple[int, int, int] | None = None  # (num0, den0, extra0) at segment start
    closed: bool = False


@dataclass(slots=True)
class _Segment:
    kind: str
    contract_id: str
    start: int
    obs: list[_SegOb]
    fixed: int
    discounts: list[tuple[DiscountAllocation, int]]
    vc_offset: dict[str, int]
    mod_id: str | None = None
    alloc_cache: dict[tuple[object, ...], Allocation] = field(default_factory=dict)


@dataclass(slots=True)
class _Ctx:
    contract: RevenueContract
    policy: RevenuePolicy
    currency: str
    as_of: int
    facts: dict[str, ObligationFacts]
    timeline_vc: VariableTimeline
    issues: list[Issue]
    empty: ObligationFacts


def _facts_for(ctx: _Ctx, ob_id: str) -> ObligationFacts:
    return ctx.facts.get(ob_id, ctx.empty)


def _variable_at(ctx: _Ctx, seg: _Segment, c: int) -> tuple[VariableComponent, ...]:
    tl = ctx.timeline_vc
    if not tl.by_id:
        return ()
    comps = tl.at(min(c, ctx.as_of))
    if not seg.vc_offset:
        return tuple(comps)
    return tuple(replace(x, included=x.included - seg.vc_offset.get(x.id, 0)) for x in comps)


def _allocation_key(comps: tuple[VariableComponent, ...]) -> tuple[object, ...]:
    """What an allocation depends on among the variable components: each one's amount
    included *and* the obligations it is allocated to (a reassessment may move only that)."""
    return tuple((x.id, x.included, x.allocate_to) for x in comps)


def _allocation(ctx: _Ctx, seg: _Segment, comps: tuple[VariableComponent, ...],
                tm: Mapping[str, int]) -> Allocation:
    key = _allocation_key(comps) + tuple(tm.items())
    hit = seg.alloc_cache.get(key)
    if hit is None:
        pool = [s.ob.id for s in seg.obs if not s.closed and is_allocable(s.ob)]
        weights = {s.ob.id: s.weight for s in seg.obs}
        ssps = {s.ob.id: s.ssp for s in seg.obs if s.ssp is not None}
        hit = allocate(pool, weights, seg.fixed, seg.discounts, comps, tm, ssps)
        seg.alloc_cache[key] = hit
    return hit


@dataclass(slots=True)
class _Eval:
    cum: list[int]
    alloc: list[int]
    num: Sequence[int]
    den: Sequence[int]
    extra: Sequence[int]
    xt: Sequence[int]
    basis: str


def _rebased(m: Measure, k: int, rb: tuple[int, int, int] | None) -> tuple[int, int, int, int]:
    n, d, x, xt = m.num[k], m.den[k], m.extra[k], m.extra_total[k]
    if rb is None:
        return n, d, x, xt
    n0, d0, x0 = rb
    if d0 <= n0:  # fully progressed at the segment start: the rest is recognised at once
        return 1, 1, x - x0, xt - x0
    nn = n * d0 - n0 * d
    dd = d * (d0 - n0)
    return max(nn, 0), dd, x - x0, xt - x0


def _allocation_runs(ctx: _Ctx, seg: _Segment, cutoffs: Sequence[int],
                     tm: Mapping[str, int]) -> list[tuple[int, dict[str, int]]]:
    """The allocation in force at each cut-off, as runs ``(first index, amount by id)``.

    It changes only with a variable estimate: the components in force are looked up again
    only when a cut-off passes a new effective date, and the price re-allocated only when
    the amounts included or the obligations they are allocated to change.
    """
    tl = ctx.timeline_vc
    if not tl.by_id:
        return [(0, _allocation(ctx, seg, (), tm).by_id())]
    runs: list[tuple[int, dict[str, int]]] = []
    effective = sorted(eff for _vid, versions in tl.by_id for eff, _c in versions)
    as_of = ctx.as_of
    last_state = -1
    last_key: tuple[object, ...] | None = None
    for k, c in enumerate(cutoffs):
        state = bisect_right(effective, c if c < as_of else as_of)
        if state == last_state:
            continue
        last_state = state
        comps = _variable_at(ctx, seg, c)
        key = _allocation_key(comps)
        if key != last_key:
            runs.append((k, _allocation(ctx, seg, comps, tm).by_id()))
            last_key = key
    return runs


def _cumulate(alloc: int | Sequence[int], nums: Sequence[int], dens: Sequence[int],
              xs: Sequence[int], xts: Sequence[int], base: int, rounding: str) -> list[int]:
    """``base + round((alloc - xt) * num / den) + x`` at each cut-off, in integers.

    Half-up rounding of a non-negative ``p / d`` is ``(2p + d) // 2d``; the usual lines (no
    amount outside progress, nothing negative) take it in one comprehension.
    """
    if not nums:
        return []
    if not any(nums) and 0 not in dens:  # no progress (right to invoice): what is outside it
        return [base + x for x in xs]
    if rounding == "ROUND_HALF_UP":
        plain = not any(xs) and not any(xts) and min(nums) >= 0
        d = dens[0]
        if isinstance(alloc, int):
            a = alloc
            if plain and a >= 0:
                a2 = 2 * a
                if dens.count(d) == len(dens):
                    d2 = 2 * d
                    return [base + (a2 * nn + d) // d2 for nn in nums]
                return [base + (a2 * nn + dd) // (2 * dd)
                        for nn, dd in zip(nums, dens, strict=True)]
            return [base + (2 * p + dd) // (2 * dd) + x if (p := (a - xt) * nn) >= 0
                    else base + rdiv(p, dd, rounding) + x
                    for nn, dd, x, xt in zip(nums, dens, xs, xts, strict=True)]
        if plain and min(alloc) >= 0 and dens.count(d) == len(dens):
            d2 = 2 * d
            return [base + (2 * a * nn + d) // d2 for a, nn in zip(alloc, nums, strict=True)]
        return [base + (2 * p + dd) // (2 * dd) + x if (p := (a - xt) * nn) >= 0
                else base + rdiv(p, dd, rounding) + x
                for a, nn, dd, x, xt in zip(alloc, nums, dens, xs, xts, strict=True)]
    if isinstance(alloc, int):
        alloc = [alloc] * len(nums)
    return [base + rdiv((a - xt) * nn, dd, rounding) + x
            for a, nn, dd, x, xt in zip(alloc, nums, dens, xs, xts, strict=True)]


def _evaluate(ctx: _Ctx, seg: _Segment, cutoffs: Sequence[int]) -> dict[str, _Eval]:
    """Cumulative revenue of every obligation of ``seg`` at each cut-off (the hot path)."""
    rounding = ctx.policy.rounding
    conv = ctx.policy.ratable_convention
    n = len(cutoffs)
    facts, empty = ctx.facts, ctx.empty
    measures = {s.ob.id: measure(s.ob, cutoffs, facts.get(s.ob.id, empty), conv)
                for s in seg.obs if not s.closed}
    tm = {}
    for s in seg.obs:
        if not s.closed and not is_allocable(s.ob):
            m = measures[s.ob.id]
            tm[s.ob.id] = m.extra_total[-1] - (s.rebase[2] if s.rebase else 0)
    runs = _allocation_runs(ctx, seg, cutoffs, tm)
    bounds = [k for k, _ in runs[1:]] + [n]
    out: dict[str, _Eval] = {}
    for s in seg.obs:
        oid = s.ob.id
        base = s.base
        if s.closed:
            out[oid] = _Eval([base] * n, [base] * n, [1] * n, [1] * n, [0] * n, [0] * n, "")
            continue
        m = measures[oid]
        nums: Sequence[int]
        dens: Sequence[int]
        xs: Sequence[int]
        xts: Sequence[int]
        if s.rebase is None:
            nums, dens, xs, xts = m.num, m.den, m.extra, m.extra_total
        else:
            cols = [_rebased(m, k, s.rebase) for k in range(n)]
            nums = [c[0] for c in cols]
            dens = [c[1] for c in cols]
            xs = [c[2] for c in cols]
            xts = [c[3] for c in cols]
        alloc: int | list[int]
        if len(runs) == 1:
            alloc = runs[0][1][oid]
            allocated = [base + alloc] * n
        else:
            alloc = []
            for (_k, by_id), hi in zip(runs, bounds, strict=True):
                alloc += [by_id[oid]] * (hi - len(alloc))
            allocated = [base + a for a in alloc]
        cum = _cumulate(alloc, nums, dens, xs, xts, base, rounding)
        out[oid] = _Eval(cum, allocated, nums, dens, xs, xts, m.basis)
    if ctx.policy.schedule_rounding is ScheduleRounding.TRUNCATE_REMAINDER_LAST_FULL:
        for s in seg.obs:
            if (not s.closed and s.ob.method.kind is MethodKind.RATABLE and s.rebase is None
                    and seg.kind in ("inception", Treatment.SEPARATE_CONTRACT.value)):
                _truncate(out[s.ob.id], s.base)
    return out


def _truncate(e: _Eval, base: int) -> None:
    """Vendor convention: each period truncated, the remainder in the last largest period."""
    if len(set(e.alloc)) != 1 or len(set(e.den)) != 1 or not e.num or e.num[-1] != e.den[-1]:
        return
    a, d = e.alloc[0] - base, e.den[0]
    exact = []
    prev = 0
    for n in e.num:
        exact.append(a * (n - prev))
        prev = n
    parts = [x // d for x in exact]
    rest = a - sum(parts)
    if rest:
        top = max(exact)
        idx = max(i for i, x in enumerate(exact) if x == top)
        parts[idx] += rest
    run = base
    for i, p in enumerate(parts):
        run += p
        e.cum[i] = run


# --- the pipeline --------------------------------------------------------------------------


def _inception(ctx: _Ctx, obligations: tuple[Obligation, ...], fixed_price: Decimal | None,
               discounts: Sequence[DiscountAllocation], contract_id: str, start: int,
               kind: str, where: str = "") -> _Segment:
    cur = ctx.currency
    allocable = [ob for ob in obligations if is_allocable(ob)]
    if fixed_price is None:
        fixed = sum(to_units(ob.price, cur, f"{where}obligations[{i}].price")
                    for i, ob in enumerate(obligations) if is_allocable(ob))
    else:
        fixed = to_units(fixed_price, cur, f"{where}fixed_price")
    ssps = {s.obligation_id: s for s in resolve_ssps(allocable, fixed, cur, ctx.policy.rounding,
                                                      where)}
    obs = [_SegOb(ob, ssps[ob.id].units if ob.id in ssps else 0, ssps.get(ob.id))
           for ob in obligations]
    disc = [(d, to_units(d.amount, cur, f"{where}discounts[{j}].amount"))
            for j, d in enumerate(discounts)]
    return _Segment(kind, contract_id, start, obs, fixed, disc, {})


def _weights_of(ctx: _Ctx, obs: Sequence[Obligation], where: str) -> dict[str, SspLine]:
    allocable = [ob for ob in obs if is_allocable(ob)]
    if not allocable:
        return {}
    fixed = sum(to_units(ob.price, ctx.currency, f"{where}.price") for ob in allocable)
    return {s.obligation_id: s for s in resolve_ssps(allocable, fixed, ctx.currency,
                                                      ctx.policy.rounding, f"{where}.")}


def _modify(ctx: _Ctx, seg: _Segment, mod: Modification, treatment: Treatment,
            catch_ups: list[tuple[str, int, int, str]]) -> _Segment:
    e = mod.effective.toordinal()
    cur = ctx.currency
    where = f"modifications[{mod.id}]"
    changed = apply_changes(tuple(s.ob for s in seg.obs), mod)
    new_defs = {ob.id: ob for ob in changed}
    added_ssp = {c.obligation_id: to_units(c.added_ssp, cur, f"{where}.changes.added_ssp")
                 for c in mod.changes if c.added_ssp is not None}
    added_w = _weights_of(ctx, mod.added, f"{where}.added")
    delta = sum(to_units(c.price_delta, cur, f"{where}.changes.price_delta")
                for c in mod.changes)
    added_price = sum(to_units(o.price, cur, f"{where}.added.price")
                      for o in mod.added if is_allocable(o))
    concession = to_units(mod.concession, cur, f"{where}.concession")
    before = _evaluate(ctx, seg, [e - 1])
    conv = ctx.policy.ratable_convention

    if treatment is Treatment.CATCH_UP:
        obs = []
        for s in seg.obs:
            ob = new_defs[s.ob.id]
            w = s.weight + added_ssp.get(ob.id, 0)
            obs.append(_SegOb(ob, w, s.ssp, s.base, s.rebase, s.closed and ob is s.ob))
        obs += [_SegOb(o, added_w[o.id].units if o.id in added_w else 0, added_w.get(o.id))
                for o in mod.added]
        new = _Segment(Treatment.CATCH_UP.value, seg.contract_id, e, obs,
                       seg.fixed + delta + added_price - concession, seg.discounts,
                       dict(seg.vc_offset), mod.id)
        after = _evaluate(ctx, new, [e - 1])
        for s in seg.obs:
            diff = after[s.ob.id].cum[0] - before[s.ob.id].cum[0]
            if diff:
                catch_ups.append((s.ob.id, e, diff, f"modification {mod.id}: cumulative catch-up"))
        return new

    # termination of the old contract and a new one, prospectively
    obs = []
    remaining = delta + added_price
    for s in seg.obs:
        b = before[s.ob.id]
        recognised = b.cum[0]
        ob = new_defs[s.ob.id]
        if s.closed:
            obs.append(_SegOb(ob, 0, None, s.base, None, True))
            continue
        m = measure(ob, [e - 1], _facts_for(ctx, ob.id), ob.method.convention or conv)
        n0, d0, x0 = m.num[0], m.den[0], m.extra[0]
        if is_allocable(ob):
            remaining += b.alloc[0] - recognised
        done = d0 <= n0 and ob.id not in added_ssp and is_allocable(ob)
        w = rdiv(s.weight * max(d0 - n0, 0), d0) + added_ssp.get(ob.id, 0)
        obs.append(_SegOb(ob, w, s.ssp, recognised, (n0, d0, x0),
                          done and b.alloc[0] == recognised))
    obs += [_SegOb(o, added_w[o.id].units if o.id in added_w else 0, added_w.get(o.id))
            for o in mod.added]
    if concession:
        takers = [s for s in obs if s.base > 0]
        if not takers:
            raise RevenueError(f"{where}.concession", "no revenue recognised to reduce")
        from syncline.ledger.money import largest_remainder

        for s, part in zip(takers, largest_remainder(concession, [s.base for s in takers]),
                           strict=True):
            s.base -= part
            catch_ups.append((s.ob.id, e, -part,
                              f"modification {mod.id}: price concession on transferred goods"))
    vc_now = {x.id: x.included for x in ctx.timeline_vc.at(min(e - 1, ctx.as_of))}
    return _Segment(Treatment.PROSPECTIVE.value, seg.contract_id, e, obs, remaining, [],
                    vc_now, mod.id)


_BY_DATE = attrgetter("date")
_BY_EFFECTIVE = attrgetter("effective")


def _build_facts(contract: RevenueContract, as_of: int, scale: int) -> dict[str, ObligationFacts]:
    acts: dict[str, list[Actual]] = {}
    for a in contract.actuals:
        acts.setdefault(a.obligation_id, []).append(a)
    ests: dict[str, list[Estimate]] = {}
    for est in contract.estimates:
        ests.setdefault(est.obligation_id, []).append(est)
    ids = set(acts) | set(ests)
    return {
        i: ObligationFacts(tuple(sorted(acts.get(i, ()), key=_BY_DATE)),
                           tuple(sorted(ests.get(i, ()), key=_BY_EFFECTIVE)), as_of, scale)
        for i in ids
    }


def _horizon(contract: RevenueContract, as_of: date) -> date:
    last = max([as_of, contract.start, *(ob.end for ob in contract.obligations)])
    for mod in contract.modifications:
        for o in mod.added:
            last = max(last, o.end)
        for c in mod.changes:
            if c.new_end:
                last = max(last, c.new_end)
    return last


def compute_schedule(
    contract: RevenueContract,
    policy: RevenuePolicy,
    as_of: date,
    known_at: datetime | None = None,
    treatments: Mapping[str, Treatment] | None = None,
) -> ScheduleResult:
    """The revenue schedule of ``contract`` as of ``as_of``, as known at ``known_at``.

    Facts effective after ``as_of`` or recorded after ``known_at`` are ignored; periods after
    ``as_of`` are a forecast. ``treatments`` overrides the treatment of named modifications
    (used by the what-if). Raises ``RevenueError`` for input the engine refuses.
    """
    view = known_view(contract, as_of, known_at)
    cur = view.currency
    minor_unit(cur)
    if not view.obligations:
        raise RevenueError("obligations", "a contract needs at least one performance obligation")
    ids = [ob.id for ob in view.obligations]
    if len(set(ids)) != len(ids):
        raise RevenueError("obligations", "obligation ids must be unique")
    a = as_of.toordinal()
    scale = 10 ** minor_unit(cur)
    ctx = _Ctx(view, policy, cur, a, _build_facts(view, a, scale),
               variable_timeline(view.variable, cur, policy.rounding), [],
               ObligationFacts((), (), a, scale))
    periods, cutoffs = calendar_between(view.start, _horizon(view, as_of))
    as_of_index = bisect_right(cutoffs, a) - 1

    first = _inception(ctx, view.obligations, view.fixed_price, view.discounts, view.id,
                       view.start.toordinal(), "inception")
    chain = [first]
    separate: list[_Segment] = []
    decisions: list[ModificationDecision] = []
    raw_catch: list[tuple[str, int, int, str]] = []
    for mod in sorted(view.modifications, key=lambda m: (m.effective, m.id)):
        seg = chain[-1]
        e = mod.effective.toordinal()
        probe = _evaluate(ctx, seg, [e - 1])
        unsatisfied = frozenset(i for i, ev in probe.items()
                                if ev.cum[0] < ev.alloc[0] or ev.num[0] < ev.den[0])
        override = (treatments or {}).get(mod.id)
        dec = classify(mod, tuple(s.ob for s in seg.obs), unsatisfied, policy.ssp_tolerance,
                       override)
        decisions.append(dec)
        if dec.treatment is Treatment.SEPARATE_CONTRACT:
            obs = separate_obligations(tuple(s.ob for s in seg.obs), mod)
            if not obs:
                raise RevenueError(f"modifications[{mod.id}]",
                                   "a separate contract needs added goods or services")
            separate.append(_inception(ctx, obs, None, (), f"{view.id}/{mod.id}", e,
                                       Treatment.SEPARATE_CONTRACT.value,
                                       f"modifications[{mod.id}]."))
            separate[-1].mod_id = mod.id
        else:
            chain.append(_modify(ctx, seg, mod, dec.treatment, raw_catch))

    n = len(cutoffs)
    if len(chain) == 1 and not separate:
        # one segment over every period (no modification in effect): its columns as they are
        ev = _evaluate(ctx, first, cutoffs)
        schedules = [_schedule(s.ob, first.contract_id, ev[s.ob.id], s.base, n)
                     for s in first.obs]
    else:
        schedules = _segmented(ctx, chain, separate, cutoffs)
    catch = [CatchUp(o, _period_key(periods, e), amt, cause) for o, e, amt, cause in raw_catch]
    # a change in the estimate of variable consideration: catch-up of the earlier progress
    catch += _estimate_catch_ups(schedules, periods, policy.rounding)
    infos = tuple(_info(ctx, seg, j) for j, seg in enumerate([*chain, *separate]))
    return ScheduleResult(
        contract=ContractStep(view.id, view.customer, cur, view.combined_from,
                              view.combination_reason),
        currency=cur, as_of=as_of, known_at=known_at, policy=policy, periods=periods,
        as_of_index=as_of_index, obligations=tuple(schedules), segments=infos,
        decisions=tuple(decisions), catch_ups=tuple(catch), issues=tuple(ctx.issues),
        source=view,
    )


def _schedule(ob: Obligation, contract_id: str, e: _Eval, base: int, n: int
              ) -> ObligationSchedule:
    return ObligationSchedule(
        obligation_id=ob.id, contract_id=contract_id, description=ob.description,
        method=ob.method.kind, start=ob.start, end=ob.end, cumulative=tuple(e.cum),
        allocated=tuple(e.alloc), num=tuple(e.num), den=tuple(e.den), extra=tuple(e.extra),
        extra_total=tuple(e.xt), base=(base,) * n if base else const_column(0, n),
        segment=const_column(0, n), basis=e.basis,
    )


def _segmented(ctx: _Ctx, chain: Sequence[_Segment], separate: Sequence[_Segment],
               cutoffs: Sequence[int]) -> list[ObligationSchedule]:
    """Each chain segment over its periods, then the separate contracts, merged per line."""
    lines: dict[str, dict[str, list[int]]] = {}
    meta: dict[str, tuple[Obligation, str, str]] = {}
    n = len(cutoffs)
    for j, seg in enumerate(chain):
        lo = 0 if j == 0 else next((k for k, c in enumerate(cutoffs) if c >= seg.start), n)
        hi = n if j + 1 == len(chain) else next(
            (k for k, c in enumerate(cutoffs) if c >= chain[j + 1].start), n)
        if lo >= hi:
            continue
        ev = _evaluate(ctx, seg, cutoffs[lo:hi])
        _merge(lines, meta, seg, ev, lo, hi, n, j)
    for j, seg in enumerate(separate, start=len(chain)):
        ev = _evaluate(ctx, seg, cutoffs)
        _merge(lines, meta, seg, ev, 0, n, n, j)
    schedules = []
    for oid, cols in lines.items():
        ob, contract_id, basis = meta[oid]
        schedules.append(ObligationSchedule(
            obligation_id=oid, contract_id=contract_id, description=ob.description,
            method=ob.method.kind, start=ob.start, end=ob.end,
            cumulative=tuple(cols["cum"]), allocated=tuple(cols["alloc"]),
            num=tuple(cols["num"]), den=tuple(cols["den"]), extra=tuple(cols["extra"]),
            extra_total=tuple(cols["xt"]), base=tuple(cols["base"]),
            segment=tuple(cols["seg"]), basis=basis,
        ))
    return schedules


def _period_key(periods: Sequence[Period], ordinal: int) -> str:
    for p in periods:
        if p.end.toordinal() >= ordinal:
            return p.key
    return periods[-1].key


def _merge(lines: dict[str, dict[str, list[int]]], meta: dict[str, tuple[Obligation, str, str]],
           seg: _Segment, ev: dict[str, _Eval], lo: int, hi: int, n: int, j: int) -> None:
    for s in seg.obs:
        oid = s.ob.id
        e = ev[oid]
        cols = lines.get(oid)
        if cols is None:
            cols = {k: [0] * n for k in ("cum", "alloc", "num", "den", "extra", "xt", "base",
                                         "seg")}
            for k in range(n):
                cols["den"][k] = 1
            lines[oid] = cols
        cols["cum"][lo:hi] = e.cum
        cols["alloc"][lo:hi] = e.alloc
        cols["num"][lo:hi] = e.num
        cols["den"][lo:hi] = e.den
        cols["extra"][lo:hi] = e.extra
        cols["xt"][lo:hi] = e.xt
        cols["base"][lo:hi] = [s.base] * (hi - lo)
        cols["seg"][lo:hi] = [j] * (hi - lo)
        prev = meta.get(oid)
        meta[oid] = (s.ob, seg.contract_id, e.basis or (prev[2] if prev else ""))


def _estimate_catch_ups(schedules: Sequence[ObligationSchedule], periods: Sequence[Period],
                        rounding: str) -> list[CatchUp]:
    out = []
    for ln in schedules:
        if ln.allocated.count(ln.allocated[0]) == len(ln.allocated):
            continue
        for k in range(1, len(periods)):
            if ln.segment[k] != ln.segment[k - 1] or ln.allocated[k] == ln.allocated[k - 1]:
                continue
            a_new = ln.allocated[k] - ln.base[k]
            a_old = ln.allocated[k - 1] - ln.base[k - 1]
            n, d = ln.num[k - 1], ln.den[k - 1]
            x, xt = ln.extra[k - 1], ln.extra_total[k - 1]
            diff = (rdiv((a_new - xt) * n, d, rounding) + x) - (
                rdiv((a_old - xt) * n, d, rounding) + x)
            if diff:
                out.append(CatchUp(ln.obligation_id, periods[k].key, diff,
                                   "transaction price reassessed (32-43)"))
    return out


def _info(ctx: _Ctx, seg: _Segment, j: int) -> SegmentInfo:
    comps = _variable_at(ctx, seg, ctx.as_of)
    tm = {}
    for s in seg.obs:
        if not s.closed and not is_allocable(s.ob):
            m = measure(s.ob, [ctx.as_of], _facts_for(ctx, s.ob.id), ctx.policy.ratable_convention)
            tm[s.ob.id] = m.extra_total[0] - (s.rebase[2] if s.rebase else 0)
    alloc = _allocation(ctx, seg, comps, tm)
    tp = TransactionPrice(seg.fixed, comps, sum(tm.values()))
    return SegmentInfo(j, seg.kind, seg.contract_id, date.fromordinal(seg.start), seg.mod_id,
                       alloc, tp)
