"""Revenue recognised *in* a month, per contract: the read-back a controller signs.

For contract C and month M, computed as of M's last day (or a later date) from the facts as
known now: the revenue recognised in M per obligation (cumulative at M's end less cumulative
at the previous month's end, so it includes any catch-up dated in M), the catch-ups dated in
M with their causes, the cumulative revenue, what was billed in M (invoices and credit notes,
net of tax) and the contract balance at M's end (revenue − net billed: asset when positive,
liability when negative).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from syncline.revenue import ScheduleResult, balance_at, compute_schedule
from syncline.revenue.model import RevenuePolicy
from syncline.revenue.units import amount
from syncline.services.billing.run import month_bounds
from syncline.services.revenue.facts import build_contract


def _m(units: int, cur: str) -> str:
    return str(amount(units, cur))


def month_statement(r: ScheduleResult, period: str) -> dict[str, Any]:
    """The month ``period`` of a computed schedule (see module doc); KeyError when the
    schedule has no such period."""
    cur = r.currency
    k = r.period_index(period)
    p = r.periods[k]
    obligations = [{"id": ln.obligation_id, "method": ln.method.value,
                    "revenue": _m(ln.revenue[k], cur), "cumulative": _m(ln.cumulative[k], cur)}
                   for ln in r.obligations]
    billed = [{"document": inv.id, "date": inv.date.isoformat(), "amount": str(inv.amount),
               "kind": "credit_note" if inv.amount < 0 else "invoice"}
              for inv in r.source.invoices if p.start <= inv.date <= p.end]
    bal = balance_at(r, p.end)
    net = bal.contract_asset - bal.contract_liability
    return {
        "contract": r.contract.contract_id, "currency": cur, "period": period,
        "as_of": r.as_of.isoformat(), "forecast": k > r.as_of_index,
        "revenue": _m(sum(ln.revenue[k] for ln in r.obligations), cur),
        "cumulative": _m(r.cumulative_at(k), cur),
        "obligations": obligations,
        "catch_ups": [{"obligation": c.obligation_id,
                       "date": c.date.isoformat() if c.date else None,
                       "amount": _m(c.amount, cur), "cause": c.cause}
                      for c in r.catch_ups if c.period == period],
        "billed": billed,
        "billed_net": str(sum((inv.amount for inv in r.source.invoices
                               if p.start <= inv.date <= p.end), Decimal(0))),
        "balance": {"contract_asset": _m(bal.contract_asset, cur),
                    "contract_liability": _m(bal.contract_liability, cur),
                    "net": _m(net, cur)},
    }


def contract_month(conn: Connection, number: str, period: str, policy: RevenuePolicy,
                   as_of: date | None = None) -> dict[str, Any] | None:
    """Revenue of contract ``number`` in ``period`` as of the period's end (or ``as_of``);
    None for an unknown contract. Raises RevenueError when the engine refuses it."""
    rc = build_contract(conn, number)
    if rc is None:
        return None
    _, end = month_bounds(period)
    r = compute_schedule(rc, policy, max(as_of or end, end))
    return month_statement(r, period)
