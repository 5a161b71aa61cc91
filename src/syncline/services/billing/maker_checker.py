"""Separation of duties for billing: manual adjustments, credit requests and hard-cap releases
are asked for by one principal and carried out once another approves them.

``ask_adjustment`` / ``ask_credit`` / ``ask_release`` record a request (governance
approvals) — or, below ``SYNCLINE_APPROVAL_THRESHOLD``, carry it out at once;
``approve`` (a finance or controller principal other than the maker) carries it out with the
existing mechanisms: the adjustment becomes a ``billing.adjustment.requested`` message
(requests.request_adjustment, ``requested_by`` the maker, ``approved_by`` in its reason),
the credit request is queued for the next run (reversal.request_credit), the held item is
released (requests.release_held_item, ``approved_by`` the checker). ``reject`` closes the
request. Every step is in the audit log. Entry points call these, never the executors.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, func, or_, select

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.tables import billable_items, contracts
from syncline.billing.items import ItemStatus
from syncline.services.billing.requests import release_held_item, request_adjustment
from syncline.services.billing.reversal import request_credit
from syncline.services.governance import approvals
from syncline.services.governance.roles import Principal
from syncline.services.ids import new_id


class RequestRefused(ValueError):
    def __init__(self, message: str, *, problem: str = "invalid") -> None:
        super().__init__(message)
        self.problem = problem  # invalid | not_found | duplicate


def _pending(made: approvals.Approval, what: str) -> dict[str, Any]:
    return {"status": "pending_approval", "approval_id": made.id, "requested_by":
            made.requested_by, "problems": [],
            "message": f"{what} requested as {made.id}: another principal with the finance or "
                       f"controller role approves it (syncline billing approve {made.id})"}


def ask_adjustment(system: Any, *, by: Principal, threshold: Decimal, contract: str,
                   amount: str, description: str, reason: str, currency: str | None = None,
                   on: str | None = None, adjusts: list[str] | None = None,
                   adjustment_id: str | None = None) -> dict[str, Any]:
    """Request a manual adjustment: pending approval, or applied at once below the
    threshold (then the answer is request_adjustment's)."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return {"status": "rejected", "adjustment_id": adjustment_id, "item": None,
                "problems": [f"amount must be a decimal number, got {amount!r}"]}
    if not value.is_finite():
        return {"status": "rejected", "adjustment_id": adjustment_id, "item": None,
                "problems": [f"amount must be a finite number, got {amount!r}"]}
    adjustment_id = adjustment_id or new_id("adj")
    with system.engine.connect() as conn:
        known = conn.execute(select(contracts.c.currency).where(
            contracts.c.number == contract)).first()
    if known is None and currency is None:
        return {"status": "rejected", "adjustment_id": adjustment_id, "item": None,
                "problems": [f"contract {contract} is not known (give a currency to send the "
                             "request anyway: it waits for the contract)"]}
    payload = {"contract": contract, "amount": amount, "description": description,
               "reason": reason, "currency": currency, "on": on, "adjusts": list(adjusts or []),
               "adjustment_id": adjustment_id}
    auto = not approvals.needs_approval(value, threshold)
    with system.engine.begin() as conn:
        made = approvals.create(conn, kind="adjustment", subject=f"contract/{contract}",
                                amount=value, currency=currency or (
                                    known.currency if known else None),
                                payload=payload, reason=reason, by=by.name,
                                now=system.clock(), auto=auto)
    if not auto:
        return {**_pending(made, f"adjustment {adjustment_id}"), "adjustment_id": adjustment_id,
                "item": None}
    return _carry_out(system, made)


def _held_amount(conn: Connection, item_key: str) -> tuple[Decimal, str] | None:
    row = conn.execute(select(billing_holds.c.amount, billing_holds.c.currency).where(
        (billing_holds.c.item_key == item_key) & (billing_holds.c.status == "held"))).first()
    return (Decimal(row.amount), row.currency) if row else None


def ask_release(system: Any, item_key: str, *, by: Principal, threshold: Decimal,
                reason: str) -> dict[str, Any]:
    """Request the release of an amount held at a hard cap."""
    with system.engine.begin() as conn:
        held = _held_amount(conn, item_key)
        if held is None:
            raise RequestRefused(f"no held item {item_key}", problem="not_found")
        if approvals.pending_for(conn, "release", f"item/{item_key}") is not None:
            raise RequestRefused(f"the release of {item_key} is already requested",
                                 problem="duplicate")
        auto = not approvals.needs_approval(held[0], threshold)
        made = approvals.create(conn, kind="release", subject=f"item/{item_key}",
                                amount=held[0], currency=held[1],
                                payload={"item_key": item_key}, reason=reason, by=by.name,
                                now=system.clock(), auto=auto)
    if not auto:
        return {**_pending(made, f"release of {item_key}"), "item": item_key}
    return _carry_out(system, made)


def ask_credit(system: Any, *, by: Principal, threshold: Decimal, invoice_number: str,
               keys: Sequence[str], reason: str,
               corrected_hours: Decimal | None = None) -> dict[str, Any]:
    """Request a credit note for items (or origins) of an invoice; the amount weighed against
    the threshold is what those items billed on it."""
    with system.engine.begin() as conn:
        billed = conn.execute(select(func.sum(billable_items.c.amount),
                                     func.max(billable_items.c.currency)).where(
            (billable_items.c.invoice_number == invoice_number)
            & (billable_items.c.status == ItemStatus.INVOICED.value)
            & or_(billable_items.c.key.in_(list(keys)),
                  billable_items.c.origin.in_(list(keys))))).first()
        amount = Decimal(billed[0]) if billed and billed[0] is not None else None
        auto = not approvals.needs_approval(amount, threshold)
        made = approvals.create(
            conn, kind="credit", subject=f"invoice/{invoice_number}", amount=amount,
            currency=billed[1] if billed else None,
            payload={"invoice_number": invoice_number, "keys": sorted(keys),
                     "corrected_hours": str(corrected_hours)
                     if corrected_hours is not None else None},
            reason=reason, by=by.name, now=system.clock(), auto=auto)
    if not auto:
        return {**_pending(made, f"credit on {invoice_number}"), "invoice": invoice_number}
    return _carry_out(system, made)


def approve(system: Any, approval_id: str, *, by: Principal,
            reason: str | None = None) -> dict[str, Any]:
    """Approve a pending request (not one's own) and carry it out."""
    with system.engine.begin() as conn:
        made = approvals.decide(conn, approval_id, by=by, approve=True, now=system.clock(),
                                reason=reason)
    return _carry_out(system, made)


def reject(system: Any, approval_id: str, *, by: Principal,
           reason: str | None = None) -> dict[str, Any]:
    with system.engine.begin() as conn:
        made = approvals.decide(conn, approval_id, by=by, approve=False, now=system.clock(),
                                reason=reason)
    return {"status": "rejected", "approval_id": made.id, "problems": []}


def _carry_out(system: Any, made: approvals.Approval) -> dict[str, Any]:
    p, now = made.payload, system.clock()
    checker = made.decided_by or "auto"
    outcome: dict[str, Any]
    if made.kind == "adjustment":
        outcome = request_adjustment(
            system, contract=p["contract"], amount=p["amount"], description=p["description"],
            reason=f"{p['reason']} (approved by {checker}, {made.id})", by=made.requested_by,
            currency=p["currency"], on=p["on"], adjusts=p["adjusts"],
            adjustment_id=p["adjustment_id"])
    elif made.kind == "release":
        with system.engine.begin() as conn:
            done = release_held_item(conn, p["item_key"], by=checker, now=now)
        outcome = {"status": "released" if done else "not_held", "item": p["item_key"],
                   "problems": [] if done else [f"{p['item_key']} is no longer held"]}
    else:
        hours = p.get("corrected_hours")
        with system.engine.begin() as conn:
            queued = request_credit(conn, invoice_number=p["invoice_number"], keys=p["keys"],
                                    reason=made.reason, now=now,
                                    corrected_hours=Decimal(hours) if hours else None)
        outcome = {"status": "queued" if queued else "already_requested",
                   "invoice": p["invoice_number"], "problems": []}
    with system.engine.begin() as conn:
        approvals.record_outcome(conn, made.id, outcome)
    return {**outcome, "approval_id": made.id, "approved_by": checker,
            "requested_by": made.requested_by}


def find_pending_release(system: Any, item_key: str) -> str | None:
    """The id of the pending release request of a held item, if any."""
    with system.engine.connect() as conn:
        found = approvals.pending_for(conn, "release", f"item/{item_key}")
    return found.id if found else None
