"""Step 4: stand-alone selling prices and the relative-SSP allocation in minor units.

Every split uses the largest-remainder rule of ``syncline.ledger.money`` so that the parts
always sum to the whole: the allocation of a transaction price sums to it to the minor unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, Inexact, Rounded, getcontext
from functools import lru_cache

from syncline.ledger.money import largest_remainder
from syncline.revenue.model import (
    DiscountAllocation,
    MethodKind,
    Obligation,
    RevenueError,
    SspMethod,
)
from syncline.revenue.price import VariableComponent
from syncline.revenue.units import round_units, to_units


@dataclass(frozen=True, slots=True)
class SspLine:
    obligation_id: str
    method: SspMethod
    units: int
    formula: str


def _need(value: Decimal | None, loc: str) -> Decimal:
    if value is None:
        raise RevenueError(loc, "is required for this SSP method")
    return value


def resolve_ssps(
    obligations: Sequence[Obligation], fixed: int, currency: str, rounding: str, where: str = ""
) -> tuple[SspLine, ...]:
    """SSP of each allocable obligation in minor units; the residual one last."""
    out: list[SspLine | None] = []
    residual_at: int | None = None
    for i, ob in enumerate(obligations):
        loc = f"{where}obligations[{i}].ssp"
        s = ob.ssp
        if s.method is SspMethod.OBSERVABLE:
            amt = _need(s.amount, f"{loc}.amount")
            out.append(SspLine(ob.id, s.method, to_units(amt, currency, f"{loc}.amount"),
                               f"observable price {amt}"))
        elif s.method in (SspMethod.ADJUSTED_MARKET, SspMethod.COST_PLUS):
            basis = _need(s.basis, f"{loc}.basis")
            factor = _need(s.factor, f"{loc}.factor")
            word = "market price" if s.method is SspMethod.ADJUSTED_MARKET else "expected cost"
            adj = "adjustment" if s.method is SspMethod.ADJUSTED_MARKET else "margin"
            out.append(SspLine(ob.id, s.method, round_units(basis * (1 + factor), currency,
                                                             rounding),
                               f"{word} {basis} x (1 + {adj} {factor})"))
        elif s.method is SspMethod.PERCENT_OF_LIST:
            basis = _need(s.basis, f"{loc}.basis")
            factor = _need(s.factor, f"{loc}.factor")
            out.append(SspLine(ob.id, s.method, round_units(basis * factor, currency, rounding),
                               f"list price {basis} x {factor}"))
        else:
            if residual_at is not None:
                raise RevenueError(loc, "at most one obligation may use the residual approach")
            residual_at = i
            out.append(None)
        if out[-1] is not None and out[-1].units < 0:
            raise RevenueError(loc, "a stand-alone selling price cannot be negative")
    if residual_at is not None:
        others = sum(x.units for x in out if x is not None)
        units = fixed - others
        if units <= 0:
            raise RevenueError(
                f"{where}obligations[{residual_at}].ssp",
                "residual approach leaves nothing: the other SSPs exceed the fixed price",
            )
        out[residual_at] = SspLine(obligations[residual_at].id, SspMethod.RESIDUAL, units,
                                   f"fixed price {fixed} less other SSPs {others} (minor units)")
    return tuple(x for x in out if x is not None)


@dataclass(frozen=True, slots=True)
class AllocationLine:
    obligation_id: str
    ssp: int
    ssp_method: SspMethod | None  # None: right to invoice (variable, allocated entirely)
    ssp_formula: str
    fixed: int
    variable: int
    total: int
    basis: str  # how the fixed part was split
    variable_basis: str = ""  # how each variable component reached it


@dataclass(frozen=True, slots=True)
class Allocation:
    lines: tuple[AllocationLine, ...]
    transaction_price: int

    def by_id(self) -> dict[str, int]:
        return {ln.obligation_id: ln.total for ln in self.lines}


@lru_cache(maxsize=16)
def _power(digits: int) -> int:
    return int(10**digits)


def split_units(total: int, weights: Sequence[int]) -> tuple[int, ...]:
    """``ledger.money.largest_remainder(total, weights)`` for integer weights, the same parts.

    The ledger divides in ``Decimal`` (the context's precision). When every share is exact
    to well within that precision (``total * sum(weights) * 100 < 10 ** prec``: products and
    sum exact, each rounding error under a tenth of ``1 / sum(weights)``) and no two
    non-zero remainders are equal, its floors and its order of remainders are those of
    integer division, so the parts are computed with ``divmod``. Anything else (equal
    remainders, whose order the ledger's rounding may decide; huge amounts; a context that
    traps inexact results; invalid weights) goes to the ledger itself.
    """
    if total < 0:
        return tuple(-p for p in split_units(-total, weights))
    if not weights or min(weights) < 0:
        return largest_remainder(total, weights)
    wsum = sum(weights)
    ctx = getcontext()
    # integers only (a sum of ints is an int; a Decimal or float weight makes it neither)
    if (wsum == 0 or wsum.__class__ is not int or total.__class__ is not int
            or total * wsum * 100 >= _power(ctx.prec) or ctx.traps[Inexact]
            or ctx.traps[Rounded]):
        return largest_remainder(total, weights)
    floors = []
    rems = []
    for w in weights:
        q, r = divmod(total * w, wsum)
        floors.append(q)
        rems.append(r)
    leftover = total - sum(floors)
    if not leftover:
        return tuple(floors)
    nonzero = [r for r in rems if r]
    if len(set(nonzero)) != len(nonzero):
        return largest_remainder(total, weights)
    for i in sorted(range(len(rems)), key=lambda i: (-rems[i], i))[:leftover]:
        floors[i] += 1
    return tuple(floors)


def _split(total: int, ids: Sequence[str], weights: Mapping[str, int], loc: str) -> dict[str, int]:
    ws = [weights[i] for i in ids]
    if not ids:
        if total:
            raise RevenueError(loc, "consideration left with no obligation to allocate it to")
        return {}
    if sum(ws) == 0:
        if total == 0:
            return dict.fromkeys(ids, 0)
        ws = [1] * len(ids)
    return dict(zip(ids, split_units(total, ws), strict=True))


def allocate(
    pool: Sequence[str],
    weights: Mapping[str, int],
    fixed: int,
    discounts: Sequence[tuple[DiscountAllocation, int]],
    variable: Sequence[VariableComponent],
    tm: Mapping[str, int],
    ssp_lines: Mapping[str, SspLine] | None = None,
    override: tuple[Mapping[str, int], str] | None = None,
) -> Allocation:
    """Allocate ``fixed`` and each variable component over ``pool`` by relative ``weights``.

    ``discounts`` (with their amounts in minor units) fix the share of their obligations at
    the sum of their SSPs less the discount; ``tm`` are right-to-invoice lines whose
    consideration is allocated entirely to them.
    """
    fixed_by: dict[str, int] = {}
    basis: dict[str, str] = {}
    rest = list(pool)
    remaining = fixed
    if override is not None:  # a documented manual allocation of the fixed part
        fixed_by = {i: override[0].get(i, 0) for i in pool}
        basis = dict.fromkeys(pool, override[1])
        rest, remaining, discounts = [], 0, ()
    for j, (disc, units) in enumerate(discounts):
        group = [i for i in disc.obligations if i in weights and i in rest]
        share = sum(weights[i] for i in group) - units
        for k, v in _split(share, group, weights, f"discounts[{j}]").items():
            fixed_by[k] = v
            basis[k] = f"SSP less discount {units} allocated to {', '.join(group)} (32-37)"
        rest = [i for i in rest if i not in group]
        remaining -= share
    var_by: dict[str, int] = dict.fromkeys(pool, 0)
    entire: dict[str, int] = dict.fromkeys(pool, 0)  # variable allocated entirely to it
    var_basis: dict[str, list[str]] = {i: [] for i in pool}
    for comp in variable:
        targets = [i for i in comp.allocate_to if i in var_by] or list(pool)
        whole = len(targets) < len(pool)
        for k, v in _split(comp.included, targets, weights, f"variable[{comp.id}]").items():
            var_by[k] += v
            if whole:
                entire[k] += v
            var_basis[k].append(
                f"{comp.id} allocated entirely to {', '.join(targets)} (32-40)" if whole
                else f"{comp.id} by relative SSP (32-31)")
    # the allocation objective (32-28) with variable consideration allocated entirely to some
    # obligations (32-40, 32-41): the fixed part goes by relative SSP *net of* that variable
    # amount, so an obligation it already pays up to its SSP takes none of the fixed part
    net = {i: max(weights[i] - entire[i], 0) for i in rest}
    by_net = any(entire[i] for i in rest) and any(net.values())
    for k, v in _split(remaining, rest, net if by_net else weights,
                       "transaction_price").items():
        fixed_by[k] = v
        basis[k] = ("relative SSP net of the variable consideration allocated entirely to "
                    "each obligation (32-40, 32-41)" if by_net else "relative SSP (32-31)")
    lines = []
    for i in pool:
        s = ssp_lines.get(i) if ssp_lines else None
        f, v = fixed_by[i], var_by[i]
        lines.append(AllocationLine(i, weights[i], s.method if s else None,
                                    s.formula if s else "remaining SSP", f, v, f + v, basis[i],
                                    "; ".join(var_basis[i])))
    for i, units in tm.items():
        lines.append(AllocationLine(i, 0, None, "right to invoice", 0, units, units,
                                    "variable consideration allocated entirely (32-40)",
                                    "right to invoice allocated entirely to the line (32-40)"))
    tp = fixed + sum(c.included for c in variable) + sum(tm.values())
    return Allocation(tuple(lines), tp)


def is_allocable(ob: Obligation) -> bool:
    return ob.method.kind is not MethodKind.RIGHT_TO_INVOICE
