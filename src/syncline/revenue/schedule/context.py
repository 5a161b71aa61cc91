"""The working state of one computation: the context, a contract's segments and their
obligations, and the allocation in force in a segment (looked up again only when a
variable estimate changes, memoised per segment).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from syncline.revenue.allocation import Allocation, SspLine, allocate, is_allocable
from syncline.revenue.measures import ObligationFacts
from syncline.revenue.model import DiscountAllocation, Obligation, RevenueContract, RevenuePolicy
from syncline.revenue.price import VariableComponent, VariableTimeline
from syncline.revenue.schedule.result import Issue


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
    override: tuple[dict[str, int], str] | None = None  # manual allocation, its basis


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
        hit = allocate(pool, weights, seg.fixed, seg.discounts, comps, tm, ssps,
                       seg.override)
        seg.alloc_cache[key] = hit
    return hit


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
