"""``compute_schedule``: the contract as known, its segments in the order of its
modifications, and the schedule they make.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import date, datetime
from operator import attrgetter

from syncline.ledger.money import minor_unit
from syncline.revenue.calendar import calendar_between
from syncline.revenue.facts import known_view
from syncline.revenue.measures import ObligationFacts
from syncline.revenue.model import (
    Actual,
    Estimate,
    RevenueContract,
    RevenueError,
    RevenuePolicy,
    Treatment,
)
from syncline.revenue.modifications import ModificationDecision, classify, separate_obligations
from syncline.revenue.price import variable_timeline
from syncline.revenue.schedule.assemble import _info, _schedule, _segmented
from syncline.revenue.schedule.catch_ups import (
    _estimate_catch_ups,
    _estimate_change_catch_ups,
    _period_key,
)
from syncline.revenue.schedule.context import _Ctx, _Segment
from syncline.revenue.schedule.progress import _evaluate
from syncline.revenue.schedule.result import CatchUp, ContractStep, ScheduleResult
from syncline.revenue.schedule.segments import _inception, _modify

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
    catch = [CatchUp(o, _period_key(periods, e), amt, cause, date.fromordinal(e))
             for o, e, amt, cause in raw_catch]
    # a change in the estimate of variable consideration: catch-up of the earlier progress
    catch += _estimate_catch_ups(schedules, periods, policy.rounding)
    # a revised estimate at completion: catch-up of the work done before it
    catch += _estimate_change_catch_ups(ctx, chain, separate, periods)
    infos = tuple(_info(ctx, seg, j) for j, seg in enumerate([*chain, *separate]))
    return ScheduleResult(
        contract=ContractStep(view.id, view.customer, cur, view.combined_from,
                              view.combination_reason),
        currency=cur, as_of=as_of, known_at=known_at, policy=policy, periods=periods,
        as_of_index=as_of_index, obligations=tuple(schedules), segments=infos,
        decisions=tuple(decisions), catch_ups=tuple(catch), issues=tuple(ctx.issues),
        source=view,
    )
