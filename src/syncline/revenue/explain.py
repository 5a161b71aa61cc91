"""Explanations: the inputs, formula, policy and rounding behind every amount, on request."""

from __future__ import annotations

from dataclasses import dataclass

from syncline.revenue.balances import balance_at
from syncline.revenue.schedule.result import ScheduleResult
from syncline.revenue.units import amount


@dataclass(frozen=True, slots=True)
class Explanation:
    subject: str
    amount: str
    formula: str
    inputs: tuple[tuple[str, str], ...]
    policy: str
    rounding: str


def explain_revenue(result: ScheduleResult, obligation_id: str, period: str) -> Explanation:
    ln = result.line(obligation_id)
    k = result.period_index(period)
    cur = result.currency
    prev = ln.cumulative[k - 1] if k else 0
    seg = result.segments[ln.segment[k]]
    alloc = ln.allocated[k] - ln.base[k]
    inputs = (
        ("allocation in force", f"{amount(alloc, cur)} {cur}"),
        ("progress", f"{ln.num[k]} / {ln.den[k]}  ({ln.basis})"),
        ("recognised outside progress (zero margin / right to invoice)",
         f"{amount(ln.extra[k], cur)} of {amount(ln.extra_total[k], cur)}"),
        ("recognised before the segment", f"{amount(ln.base[k], cur)}"),
        ("segment", f"{seg.kind} from {seg.starts.isoformat()}"
         + (f" (modification {seg.modification_id})" if seg.modification_id else "")),
        ("previous cumulative", f"{amount(prev, cur)}"),
    )
    formula = ("revenue = cumulative(period) - cumulative(previous); cumulative = base + "
               "round((allocation - outside) x num / den) + outside")
    return Explanation(
        subject=f"revenue {obligation_id} {period}",
        amount=str(amount(ln.cumulative[k] - prev, cur)),
        formula=formula,
        inputs=inputs,
        policy=(f"method {ln.method.value}; "
                f"schedule rounding {result.policy.schedule_rounding.value}"),
        rounding=f"{result.policy.rounding} to the {cur} minor unit, once per cumulative amount",
    )


def explain_allocation(result: ScheduleResult, obligation_id: str, segment: int = 0
                       ) -> Explanation:
    seg = result.segments[segment]
    cur = result.currency
    for al in seg.allocation.lines:
        if al.obligation_id == obligation_id:
            pool = sum(x.ssp for x in seg.allocation.lines)
            return Explanation(
                subject=f"allocation {obligation_id} ({seg.kind})",
                amount=str(amount(al.total, cur)),
                formula=f"fixed part by {al.basis}; variable part by relative SSP or to the "
                        "obligations the criteria tie it to (32-40)",
                inputs=(("SSP", f"{amount(al.ssp, cur)} = {al.ssp_formula}"),
                        ("sum of SSPs", str(amount(pool, cur))),
                        ("fixed transaction price", str(amount(seg.transaction_price.fixed, cur))),
                        ("fixed part", str(amount(al.fixed, cur))),
                        ("variable part", str(amount(al.variable, cur)))),
                policy="relative stand-alone selling price (ASC 606-10-32-28 to 32-41)",
                rounding="largest remainder at the minor unit: parts sum to the price",
            )
    raise KeyError(obligation_id)


def explain_balance(result: ScheduleResult, period: str) -> Explanation:
    k = result.period_index(period)
    b = balance_at(result, result.periods[k].end)
    cur = result.currency
    return Explanation(
        subject=f"contract position {period}",
        amount=str(amount(b.contract_asset - b.contract_liability, cur)),
        formula="net = cumulative revenue - consideration received or unconditionally "
                "receivable; > 0 contract asset, < 0 contract liability",
        inputs=(("cumulative revenue", str(amount(b.revenue, cur))),
                ("consideration", str(amount(b.consideration, cur))),
                ("receivable", str(amount(b.receivable, cur))),
                ("cash", str(amount(b.cash, cur)))),
        policy="one net position per contract (606-10-45-1); receivable when unconditional",
        rounding="none: sums of rounded amounts",
    )


def explain_all(result: ScheduleResult) -> tuple[Explanation, ...]:
    out = [explain_allocation(result, al.obligation_id, s.index)
           for s in result.segments for al in s.allocation.lines]
    for ln in result.obligations:
        for k, v in enumerate(ln.revenue):
            if v:
                out.append(explain_revenue(result, ln.obligation_id, result.periods[k].key))
    return tuple(out)
