"""The result's parts: each obligation's columns, merged over the segments that carry it
(each chain segment over its periods, then the separate contracts), and what each
segment allocated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from syncline.revenue.allocation import is_allocable
from syncline.revenue.measures import const_column, measure
from syncline.revenue.model import Obligation
from syncline.revenue.price import TransactionPrice
from syncline.revenue.schedule.context import _allocation, _Ctx, _facts_for, _Segment, _variable_at
from syncline.revenue.schedule.progress import _Eval, _evaluate
from syncline.revenue.schedule.result import ObligationSchedule, SegmentInfo


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
