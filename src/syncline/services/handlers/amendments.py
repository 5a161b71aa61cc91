"""Revenue flows: `contract.amended` records a new contract version, the baseline kept."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from syncline.adapters.db.revenue_tables import contract_amendments
from syncline.adapters.db.tables import contract_lines, contracts, projects
from syncline.domain.budget import project_budget
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.domain.model import RECOGNITION_METHODS, stated_recognition
from syncline.services.billing.amendments import BILLING_ACTIONS, billing_change_problem
from syncline.services.clock import iso
from syncline.services.handlers.estimates import record_recognition
from syncline.services.handlers.rate_cards import amend_rates
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch


def _problem(code: str, message: str, field: str, deal_id: str) -> Failed:
    return Failed((Problem(code, BusinessDomain.FINANCE, message,
                           "Correct the amendment in CPQ (the line ids must match the contract) "
                           "and re-send it, or edit and replay this message.", field,
                           objects=(("deal", deal_id),)),))


def amend_contract(b: Batch, data: Mapping[str, Any]) -> Outcome:
    deal_id, amendment_id = str(data["deal_id"]), str(data["amendment_id"])
    head = b.conn.execute(select(contracts).where(contracts.c.deal_id == deal_id)).first()
    if head is None:
        return Parked(Missing(f"deal:{deal_id}", f"deal {deal_id} has no contract yet"))
    if b.conn.execute(select(contract_amendments.c.amendment_id).where(
            contract_amendments.c.amendment_id == amendment_id)).first():
        return Applied(note="amendment already recorded (idempotent)")
    effective = date.fromisoformat(data["effective_date"])
    if not (date.fromisoformat(head.start_date) <= effective):
        return _problem("amendment.before_start", f"amendment {amendment_id} is effective "
                        f"{effective}, before contract {head.number} starts",
                        "data.effective_date", deal_id)
    existing = {r.line_id: r for r in b.conn.execute(select(contract_lines).where(
        contract_lines.c.contract_id == head.id))}
    new_lines = []
    for i, change in enumerate(data["changes"]):
        action = change["action"]
        if action in BILLING_ACTIONS:  # caps, prepaid blocks, rates: no contract line
            wrong = billing_change_problem(b.conn, head.number, change)
            if wrong is not None:
                return _problem(wrong[0], wrong[1], f"data.changes[{i}].{wrong[2]}", deal_id)
            continue
        line_id = change["line_id"]
        if action == "add_line":
            if line_id in existing:
                return _problem("amendment.line_exists", f"line {line_id} already exists on "
                                f"contract {head.number}", f"data.changes[{i}].line_id", deal_id)
            kind = change.get("kind", "fixed_fee")
            if kind != "time_and_materials" and change.get("amount") is None:
                return _problem("amendment.line_without_amount", f"added {kind} line "
                                f"{line_id} has no amount", f"data.changes[{i}].amount", deal_id)
            method = stated_recognition(change)
            if method is not None and method not in RECOGNITION_METHODS[kind]:
                return _problem("amendment.recognition_invalid", f"added {kind} line {line_id} "
                                f"cannot be recognised by {method!r} (allowed: "
                                f"{', '.join(RECOGNITION_METHODS[kind])})",
                                f"data.changes[{i}].recognition", deal_id)
            new_lines.append({
                "contract_id": head.id, "line_id": line_id, "kind": kind,
                "description": change.get("description", line_id),
                "amount": Decimal(change["amount"]) if change.get("amount") else None,
                "estimated_hours": Decimal(change["estimated_hours"])
                if change.get("estimated_hours") else None,
                "estimated_cost": Decimal(change["estimated_cost"])
                if change.get("estimated_cost") else None})
        elif line_id not in existing:
            return _problem("amendment.unknown_line", f"line {line_id} is not on contract "
                            f"{head.number}", f"data.changes[{i}].line_id", deal_id)
        elif action == "change_price" and change.get("amount") is None:
            return _problem("amendment.price_missing", f"change_price of {line_id} has no "
                            "amount", f"data.changes[{i}].amount", deal_id)
    b.conn.execute(contract_amendments.insert().values(
        amendment_id=amendment_id, contract_number=head.number,
        effective_date=effective.isoformat(),
        payload=json.dumps(dict(data), sort_keys=True), inbox_id=b.inbox_id,
        recorded_at=iso(b.now)))
    if new_lines:
        b.conn.execute(contract_lines.insert(), new_lines)
        record_recognition(b, head.number, [c for c in data["changes"]
                                            if c["action"] == "add_line"])
    b.conn.execute(update(contracts).where(contracts.c.id == head.id)
                   .values(version=contracts.c.version + 1))
    _update_budget(b, head, amendment_id, effective, data)
    rated = amend_rates(b, head.number, amendment_id, effective, data["changes"])
    return Applied(provides=(f"amendment:{amendment_id}", *rated))





def _update_budget(b: Batch, head: Any, amendment_id: str, effective: date,
                   data: Mapping[str, Any]) -> None:
    """``psa.budget.update`` to the PSA when the amendment changes the project's budget —
    contract value or estimated hours (domain/budget.py, before and after this amendment
    among those recorded) — its bill rates or its end date; nothing for a cap-only change."""
    project = b.conn.execute(select(projects.c.code, projects.c.id).where(
        projects.c.contract_id == head.id)).first()
    if project is None:
        return
    recorded = [(r.amendment_id, json.loads(r.payload)) for r in b.conn.execute(
        select(contract_amendments.c.amendment_id, contract_amendments.c.payload).where(
            contract_amendments.c.contract_number == head.number).order_by(
            contract_amendments.c.effective_date, contract_amendments.c.amendment_id))]
    added = {c.get("line_id") for _, p in recorded for c in p["changes"]
             if c["action"] == "add_line"}
    baseline = [(r.line_id, r.amount, r.estimated_hours) for r in b.conn.execute(
        select(contract_lines).where(contract_lines.c.contract_id == head.id))
        if r.line_id not in added]
    before = project_budget(baseline, [c for aid, p in recorded if aid != amendment_id
                                       for c in p["changes"]])
    after = project_budget(baseline, [c for _, p in recorded for c in p["changes"]])
    rates = {str(c["role"]): str(c["rate"]) for c in data["changes"]
             if c["action"] == "change_rate"}
    if before == after and not rates and not data.get("end_date"):
        return
    b.emit("psa.budget.update", "psa", {
        "project_id": project.id, "code": project.code, "contract_id": head.id,
        "amendment": amendment_id, "effective_date": effective.isoformat(),
        "billing_type": head.billing_type, "currency": head.currency,
        "budget": str(after.value), "previous_budget": str(before.value),
        "hours": str(after.hours), "previous_hours": str(before.hours),
        **({"rates": rates} if rates else {}),
        **({"end_date": data["end_date"]} if data.get("end_date") else {}),
        "changes": data["changes"]})
