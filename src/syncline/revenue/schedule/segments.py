"""Opening a segment: at inception (or as a separate contract), and from a modification,
by cumulative catch-up (the whole contract re-allocated and re-measured) or prospectively
(what remains re-allocated, progress rebased, revenue recognised kept as ``base``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from syncline.revenue.allocation import SspLine, is_allocable, resolve_ssps
from syncline.revenue.measures import measure
from syncline.revenue.model import (
    DiscountAllocation,
    Modification,
    Obligation,
    RevenueError,
    Treatment,
)
from syncline.revenue.modifications import apply_changes
from syncline.revenue.schedule.catch_ups import known_on
from syncline.revenue.schedule.context import _Ctx, _facts_for, _Segment, _SegOb
from syncline.revenue.schedule.progress import _evaluate
from syncline.revenue.units import rdiv, to_units


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
    seg = _Segment(kind, contract_id, start, obs, fixed, disc, {})
    if kind == "inception" and ctx.contract.allocation_override is not None:
        seg.override = _override(ctx, allocable, fixed)
    return seg


def _override(ctx: _Ctx, allocable: Sequence[Obligation], fixed: int) -> tuple[dict[str, int],
                                                                                   str]:
    """A manual allocation, refused unless it is documented (reason, approver), names every
    allocable obligation and nothing else, and its parts sum exactly to the fixed price."""
    o = ctx.contract.allocation_override
    assert o is not None
    loc = "allocation_override"
    if not o.reason.strip() or not o.approved_by.strip():
        raise RevenueError(loc, "a manual allocation needs its reason and who approved it")
    parts = {oid: to_units(a, ctx.currency, f"{loc}.amounts.{oid}") for oid, a in o.amounts}
    ids = {ob.id for ob in allocable}
    if set(parts) != ids:
        raise RevenueError(f"{loc}.amounts", "must name exactly the allocable obligations "
                           f"({', '.join(sorted(ids))}), not {', '.join(sorted(parts))}")
    if any(v < 0 for v in parts.values()):
        raise RevenueError(f"{loc}.amounts", "parts cannot be negative")
    if sum(parts.values()) != fixed:
        raise RevenueError(f"{loc}.amounts", f"parts sum to {sum(parts.values())} minor units; "
                           f"they must sum exactly to the fixed price, {fixed}")
    when = f" on {o.approved_on.isoformat()}" if o.approved_on else ""
    return parts, f"manual allocation approved by {o.approved_by}{when}: {o.reason}"


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
        if seg.override and new.fixed == seg.fixed and not mod.added:
            new.override = seg.override  # the price is unchanged: the documented split holds
        # measured with every fact known on the modification date: an estimate at completion
        # or variable consideration effective that day is part of the modified contract
        known = known_on(ctx, e)
        after = _evaluate(known, new, [e - 1])
        cause = f"modification {mod.id}: cumulative catch-up"
        if known is not ctx:
            cause += " (with the estimates effective that day)"
        for s in seg.obs:
            diff = after[s.ob.id].cum[0] - before[s.ob.id].cum[0]
            if diff:
                catch_ups.append((s.ob.id, e, diff, cause))
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
