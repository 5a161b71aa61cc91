"""Schedules as JSON-ready dicts (amounts as decimal strings), for the CLI and the API."""

from __future__ import annotations

from typing import Any

from syncline.revenue import (
    ScheduleResult,
    balances_by_period,
    explain_all,
    realized_fx,
    remaining_obligations,
)
from syncline.revenue.units import amount


def _m(units: int, cur: str) -> str:
    return str(amount(units, cur))


def schedule_json(r: ScheduleResult) -> dict[str, Any]:
    cur = r.currency
    rpo = remaining_obligations(r)
    return {
        "format": "syncline.revenue.schedule/v1",
        "contract": {"id": r.contract.contract_id, "customer": r.contract.customer,
                     "currency": cur, "combined_from": list(r.contract.combined_from)},
        "as_of": r.as_of.isoformat(),
        "known_at": r.known_at.isoformat() if r.known_at else None,
        "segments": [{
            "index": s.index, "kind": s.kind, "contract_id": s.contract_id,
            "starts": s.starts.isoformat(), "modification": s.modification_id,
            "transaction_price": _m(s.allocation.transaction_price, cur),
            "variable": [{"id": v.id, "method": v.method.value, "estimate": _m(v.estimate, cur),
                          "included": _m(v.included, cur), "constrained": v.constrained,
                          "formula": v.formula, "reason": v.reason}
                         for v in s.transaction_price.variable],
            "allocation": [{"obligation": a.obligation_id, "ssp": _m(a.ssp, cur),
                            "ssp_method": a.ssp_method.value if a.ssp_method else None,
                            "ssp_formula": a.ssp_formula, "fixed": _m(a.fixed, cur),
                            "variable": _m(a.variable, cur), "allocated": _m(a.total, cur),
                            "basis": a.basis, "variable_basis": a.variable_basis}
                           for a in s.allocation.lines],
        } for s in r.segments],
        "periods": [p.key for p in r.periods],
        "as_of_period": r.periods[r.as_of_index].key if r.as_of_index >= 0 else None,
        "obligations": [{
            "id": ln.obligation_id, "contract_id": ln.contract_id, "method": ln.method.value,
            "allocated": _m(ln.allocated[-1], cur),
            "revenue": {p.key: _m(v, cur) for p, v in zip(r.periods, ln.revenue, strict=True)},
            "cumulative": {p.key: _m(v, cur)
                           for p, v in zip(r.periods, ln.cumulative, strict=True)},
        } for ln in r.obligations],
        "catch_ups": [{"obligation": c.obligation_id, "period": c.period,
                       "date": c.date.isoformat() if c.date else None,
                       "amount": _m(c.amount, cur), "cause": c.cause} for c in r.catch_ups],
        "modifications": [{"id": d.modification_id, "effective": d.effective,
                           "treatment": d.treatment.value,
                           "derived_treatment": d.derived_treatment.value,
                           "overridden": d.overridden, "citation": d.citation,
                           "tests": [{"question": t.question, "answer": t.answer,
                                      "given": t.given, "reason": t.reason} for t in d.tests]}
                          for d in r.decisions],
        "balances": [{"date": b.date.isoformat(), "revenue": _m(b.revenue, cur),
                      "receivable": _m(b.receivable, cur),
                      "contract_asset": _m(b.contract_asset, cur),
                      "contract_liability": _m(b.contract_liability, cur)}
                     for b in balances_by_period(r)],
        "rpo": {"total": _m(rpo.total, cur), "disclosed": _m(rpo.disclosed, cur),
                "buckets": dict(zip(rpo.bucket_labels,
                                    (_m(v, cur) for v in rpo.bucket_totals()), strict=True)),
                "lines": [{"obligation": x.obligation_id, "remaining": _m(x.remaining, cur),
                           "expedient": x.expedient or None} for x in rpo.lines]},
        "fx": _fx_json(r),
        "explanations": [{"subject": e.subject, "amount": e.amount, "formula": e.formula,
                          "inputs": dict(e.inputs), "policy": e.policy, "rounding": e.rounding}
                         for e in explain_all(r)],
    }




def _fx_json(r: ScheduleResult) -> dict[str, Any] | None:
    """Realized FX on settlement of a foreign-currency contract (revenue/fx.py)."""
    fn = r.source.functional_currency
    if not fn or fn == r.currency:
        return None
    rows = realized_fx(r)
    return {"functional_currency": fn,
            "realized": [{"invoice": x.invoice_id, "payment_date": x.payment_date.isoformat(),
                          "amount": _m(x.amount, r.currency),
                          "invoice_rate": str(x.invoice_rate) if x.invoice_rate else None,
                          "settlement_rate": str(x.settlement_rate) if x.settlement_rate
                          else None,
                          "at_invoice": _m(x.at_invoice, fn),
                          "at_settlement": _m(x.at_settlement, fn),
                          "gain_loss": _m(x.gain, fn), "missing": x.missing or None}
                         for x in rows],
            "total_gain_loss": _m(sum(x.gain for x in rows), fn)}
