"""Catch-ups: the period one falls in, those of a reassessed estimate of variable
consideration inside a segment (32-43), and those of a revised estimate at completion
(25-35), each labelled with its cause and, where it has one, its effective date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from syncline.revenue.calendar import Period
from syncline.revenue.measures import ObligationFacts
from syncline.revenue.price import VariableTimeline
from syncline.revenue.schedule.context import _Ctx, _Segment
from syncline.revenue.schedule.progress import _evaluate
from syncline.revenue.schedule.result import CatchUp, ObligationSchedule
from syncline.revenue.units import rdiv


def _period_key(periods: Sequence[Period], ordinal: int) -> str:
    for p in periods:
        if p.end.toordinal() >= ordinal:
            return p.key
    return periods[-1].key


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


def known_on(ctx: _Ctx, day: int, only: str | None = None) -> _Ctx:
    """``ctx`` with the estimates at completion (of ``only``, or all) and the variable
    consideration effective on ``day`` moved to the day before: evaluated at ``day - 1`` it
    gives the work done before ``day`` measured with what is known on ``day``."""
    facts = dict(ctx.facts)
    moved = False
    for oid, f in ctx.facts.items():
        if (only is not None and oid != only) or not any(
                e.effective.toordinal() == day for e in f.estimates):
            continue
        ests = tuple(replace(e, effective=date.fromordinal(day - 1))
                     if e.effective.toordinal() == day else e for e in f.estimates)
        facts[oid] = ObligationFacts(f.actuals, ests, f.as_of, f.currency_scale)
        moved = True
    timeline = ctx.timeline_vc
    if only is None and any(eff == day for _v, vs in timeline.by_id for eff, _c in vs):
        timeline = VariableTimeline(tuple(
            (vid, tuple((day - 1 if eff == day else eff, c) for eff, c in vs))
            for vid, vs in timeline.by_id))
        moved = True
    return replace(ctx, facts=facts, timeline_vc=timeline) if moved else ctx


def _estimate_change_catch_ups(ctx: _Ctx, chain: Sequence[_Segment],
                               separate: Sequence[_Segment], periods: Sequence[Period],
                               ) -> list[CatchUp]:
    """A revised estimate at completion is a change in estimate (606-10-25-35; IFRS 15.43):
    its effect on the work done before its effective day E — cumulative revenue at E - 1
    measured with the new estimate, less with the old — is a cumulative catch-up in E's
    period, labelled. A revision effective the day a modification takes effect is part of
    that modification's catch-up (measured with the facts known that day)."""
    out = []
    mod_days = {seg.start for seg in chain[1:]}
    for oid, f in sorted(ctx.facts.items()):
        for prev, est in zip(f.estimates, f.estimates[1:], strict=False):
            day = est.effective.toordinal()
            if day > ctx.as_of or day in mod_days or (est.total == prev.total and (
                    est.uninstalled_materials == prev.uninstalled_materials)):
                continue
            segs = [s for s in chain if s.start <= day - 1][-1:] + [
                s for s in separate if s.start <= day - 1]
            for seg in segs:
                if not any(s.ob.id == oid and not s.closed for s in seg.obs):
                    continue
                before = _evaluate(ctx, seg, [day - 1])[oid].cum[0]
                after = _evaluate(known_on(ctx, day, oid), seg, [day - 1])[oid].cum[0]
                if after != before:
                    out.append(CatchUp(
                        oid, _period_key(periods, day), after - before,
                        f"estimate at completion revised from {prev.total} to {est.total} "
                        "(change in estimate, 606-10-25-35)", est.effective))
    return out
