"""What-if of a proposed amendment: a contract's schedule before and after an amendment that
is not recorded, computed by the revenue engine and stored nowhere.

A proposal is written as a ``contract.amended`` event's data (``changes`` of ``add_line``,
``change_price``, ``remove_line``; a new ``end_date``), checked as the amendment handler checks
a received one, and handed to ``build_contract`` beside the recorded amendments — so it
becomes a modification exactly as the real amendment would (``facts._modification``), the
engine classifies it (``revenue.modifications.classify``: separate contract, prospective, or
cumulative catch-up) and ``revenue.what_if`` computes it under each treatment. Both
schedules are computed as of today or the proposal's effective date, whichever is later (the
engine ignores a modification effective after the as-of date). Nothing is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.revenue_tables import contract_amendments
from syncline.adapters.db.tables import contract_lines, contracts
from syncline.revenue import RevenueError, compute_schedule, remaining_obligations, what_if
from syncline.revenue.model import RevenuePolicy
from syncline.revenue.schedule.result import ScheduleResult
from syncline.revenue.units import amount
from syncline.services.clock import iso
from syncline.services.revenue.facts import build_contract

PROPOSED = "proposed"  # the modification id the proposal takes in the engine


class ProposalRefused(ValueError):
    """A proposal the amendment handler would refuse (unknown line, no amount, …)."""


@dataclass(frozen=True, slots=True)
class ProposedAmendment:
    effective: date
    changes: tuple[dict[str, Any], ...] = ()  # as contract.amended's ``changes``
    end_date: date | None = None
    reason: str = field(default="what-if")


def lines_in_force(conn: Connection, number: str) -> list[dict[str, Any]]:
    """The contract's lines with the price in force now: the line's own, or the last
    recorded ``change_price`` of it (amendments in effective order)."""
    head = conn.execute(select(contracts.c.id).where(contracts.c.number == number)).first()
    if head is None:
        return []
    price = {}
    for a in conn.execute(select(contract_amendments.c.payload).where(
            contract_amendments.c.contract_number == number).order_by(
            contract_amendments.c.effective_date, contract_amendments.c.amendment_id)):
        for c in json.loads(a.payload)["changes"]:
            if c.get("action") == "change_price" and c.get("amount") is not None:
                price[c["line_id"]] = Decimal(c["amount"])
    return [{"line_id": r.line_id, "kind": r.kind, "description": r.description,
             "amount": price.get(r.line_id, r.amount)}
            for r in conn.execute(select(contract_lines).where(
                contract_lines.c.contract_id == head.id).order_by(contract_lines.c.line_id))]


def _check(conn: Connection, number: str, p: ProposedAmendment, start: date) -> None:
    """The amendment handler's checks of lines and dates (services/handlers/amendments)."""
    if p.effective < start:
        raise ProposalRefused(f"effective {p.effective} is before the contract starts ({start})")
    if p.end_date is not None and p.end_date < p.effective:
        raise ProposalRefused(f"new end date {p.end_date} is before the effective date")
    if not p.changes:
        raise ProposalRefused("a proposal needs at least one change (price, end date, a line "
                              "added or removed)")
    lines = {ln["line_id"]: ln for ln in lines_in_force(conn, number)}
    for c in p.changes:
        line = c.get("line_id", "")
        if c["action"] == "add_line":
            if not line or line in lines:
                raise ProposalRefused(f"an added line needs a new line id ({line!r} is taken)"
                                      if line else "an added line needs a line id")
            if c.get("kind", "fixed_fee") != "time_and_materials" and c.get("amount") is None:
                raise ProposalRefused(f"added line {line} has no amount")
        elif line not in lines:
            raise ProposalRefused(f"line {line!r} is not on contract {number}")
        elif c["action"] == "change_price" and c.get("amount") is None:
            raise ProposalRefused(f"the price change of {line} has no amount")


def _row(number: str, p: ProposedAmendment, now: datetime) -> SimpleNamespace:
    """The proposal shaped as a recorded ``contract_amendments`` row."""
    data: dict[str, Any] = {"amendment_id": PROPOSED, "effective_date": p.effective.isoformat(),
                            "changes": list(p.changes), "reason": p.reason}
    if p.end_date is not None:
        data["end_date"] = p.end_date.isoformat()
    return SimpleNamespace(amendment_id=PROPOSED, contract_number=number,
                           effective_date=p.effective.isoformat(),
                           payload=json.dumps(data, sort_keys=True), inbox_id="",
                           recorded_at=iso(now))


def _m(units: int, cur: str) -> str:
    return str(amount(units, cur))


def _totals(r: ScheduleResult) -> dict[str, int]:
    """Revenue per period of every obligation together, in minor units."""
    return dict(zip((p.key for p in r.periods), r.revenue_by_period(), strict=True))


def what_if_amendment(conn: Connection, number: str, proposal: ProposedAmendment,
                      policy: RevenuePolicy, today: date, now: datetime
                      ) -> dict[str, Any] | None:
    """The schedule of ``number`` before and after ``proposal`` (see the module doc): per
    period the revenue before, after and the difference; revenue to date, RPO and allocation
    before and after; the engine's decision with its tests; each treatment side by side.
    None for an unknown contract; ``ProposalRefused`` or ``RevenueError`` for a proposal that
    cannot be computed."""
    before_contract = build_contract(conn, number)
    if before_contract is None:
        return None
    _check(conn, number, proposal, before_contract.start)
    after_contract = build_contract(conn, number, [_row(number, proposal, now)])
    assert after_contract is not None
    as_of = max(today, proposal.effective)
    before = compute_schedule(before_contract, policy, as_of)
    after = compute_schedule(after_contract, policy, as_of)
    cur = after.currency
    was, now_ = _totals(before), _totals(after)
    periods = sorted(set(was) | set(now_))
    decision = next((d for d in after.decisions if d.modification_id == PROPOSED), None)
    side: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    if decision is not None:
        try:
            w = what_if(after_contract, policy, as_of, PROPOSED)
        except RevenueError as refused:
            skipped.append({"treatment": "all", "reason": refused.rule})
        else:
            side = [{"treatment": o.treatment.value, "chosen": o.chosen,
                     "revenue_to_date": _m(o.revenue_to_date, cur),
                     "catch_up": _m(o.catch_up, cur), "rpo": _m(o.rpo, cur)}
                    for o in w.outcomes]
            skipped += [{"treatment": t.value, "reason": why} for t, why in w.not_applicable]

    def summary(r: ScheduleResult) -> dict[str, Any]:
        k = r.as_of_index
        return {"total": _m(sum(r.revenue_by_period()), cur),
                "to_date": _m(r.cumulative_at(k) if k >= 0 else 0, cur),
                "rpo": _m(remaining_obligations(r).total, cur),
                "allocation": {ln.obligation_id: _m(ln.allocated[-1], cur)
                               for ln in r.obligations}}

    return {
        "contract": number, "currency": cur, "as_of": as_of.isoformat(),
        "proposal": {"effective_date": proposal.effective.isoformat(),
                     "end_date": proposal.end_date.isoformat() if proposal.end_date else None,
                     "changes": list(proposal.changes)},
        "periods": [{"period": p, "before": _m(was.get(p, 0), cur),
                     "after": _m(now_.get(p, 0), cur),
                     "difference": _m(now_.get(p, 0) - was.get(p, 0), cur),
                     "forecast": p > (after.periods[after.as_of_index].key
                                      if after.as_of_index >= 0 else "")}
                    for p in periods],
        "before": summary(before), "after": summary(after),
        "decision": None if decision is None else {
            "treatment": decision.treatment.value,
            "derived_treatment": decision.derived_treatment.value,
            "citation": decision.citation, "reasons": list(decision.reasons)},
        "treatments": side, "not_applicable": skipped,
    }
