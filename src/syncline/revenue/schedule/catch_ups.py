"""Catch-ups: the period one falls in, and those of a reassessed estimate of variable
consideration inside a segment (32-43).
"""

from __future__ import annotations

from collections.abc import Sequence

from syncline.revenue.calendar import Period
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
