"""Cumulative revenue at each cut-off from the measure of progress and the allocation in
force, ``base + round((alloc - extra_total) * num / den) + extra`` in integers (the hot
path), progress rebased at a segment start, and the vendor truncation convention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syncline.revenue.allocation import is_allocable
from syncline.revenue.measures import Measure, measure
from syncline.revenue.model import MethodKind, ScheduleRounding, Treatment
from syncline.revenue.schedule.context import _allocation_runs, _Ctx, _Segment
from syncline.revenue.units import rdiv


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
