"""Maker-checker: a finance-sensitive request is made by one principal and approved by another.

A request (``kind``: adjustment, credit, release; over_allocation for staffing) stores what to
do once approved (JSON), the amount it is about and who asked. ``decide`` approves or rejects
it: the checker needs an approver role (finance or controller) and may not be the maker
(``SelfApproval``, a ``Forbidden``). What carrying it out does belongs to the capability
(billing: requests.py; staffing: workforce/overallocation.py), which records the outcome here.
Below a configured threshold (``SYNCLINE_APPROVAL_THRESHOLD``, absolute amount; default 0 =
every request needs approval) a request is carried out at once and recorded as approved by no
one else (``auto``). Every request and decision is written to the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from syncline.adapters.db.governance_tables import approval_requests
from syncline.services.clock import iso
from syncline.services.governance import audit
from syncline.services.governance.roles import APPROVERS, Forbidden, Principal, require
from syncline.services.ids import new_id

KINDS = ("adjustment", "credit", "release", "over_allocation")


class SelfApproval(Forbidden):
    pass


class ApprovalRefused(ValueError):
    def __init__(self, message: str, *, problem: str) -> None:
        super().__init__(message)
        self.problem = problem  # not_found | not_pending


def needs_approval(amount: Decimal | None, threshold: Decimal) -> bool:
    """True unless a threshold is set and the absolute amount is below it."""
    return threshold <= 0 or amount is None or abs(amount) >= threshold


@dataclass(frozen=True, slots=True)
class Approval:
    id: str
    kind: str
    subject: str
    amount: str | None
    currency: str | None
    payload: dict[str, Any]
    reason: str
    status: str
    requested_by: str
    requested_at: str
    decided_by: str | None = None
    decided_at: str | None = None
    decision_reason: str | None = None
    outcome: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _approval(r: Any) -> Approval:
    return Approval(r.id, r.kind, r.subject, r.amount, r.currency, json.loads(r.payload),
                    r.reason, r.status, r.requested_by, r.requested_at, r.decided_by,
                    r.decided_at, r.decision_reason,
                    json.loads(r.outcome) if r.outcome else None)


def create(conn: Connection, *, kind: str, subject: str, amount: Decimal | None,
           currency: str | None, payload: dict[str, Any], reason: str, by: str,
           now: datetime, auto: bool = False) -> Approval:
    """Record a request: pending, or (``auto``: below the threshold) approved at once."""
    assert kind in KINDS
    approval_id = new_id("apr")
    values: dict[str, Any] = dict(
        id=approval_id, kind=kind, subject=subject,
        amount=str(amount) if amount is not None else None, currency=currency,
        payload=json.dumps(payload, sort_keys=True, default=str), reason=reason,
        status="approved" if auto else "pending", requested_by=by, requested_at=iso(now))
    if auto:
        values.update(decided_by="auto", decided_at=iso(now),
                      decision_reason="below the approval threshold")
    conn.execute(approval_requests.insert().values(**values))
    made = get(conn, approval_id)
    assert made is not None
    audit.append(conn, actor=by, action=f"{kind}.request", subject=f"approval/{approval_id}",
                 now=now, after=made.as_dict(), reason=reason)
    return made


def get(conn: Connection, approval_id: str) -> Approval | None:
    row = conn.execute(select(approval_requests).where(
        approval_requests.c.id == approval_id)).first()
    return _approval(row) if row else None


def pending_for(conn: Connection, kind: str, subject: str) -> Approval | None:
    row = conn.execute(select(approval_requests).where(
        (approval_requests.c.kind == kind) & (approval_requests.c.subject == subject)
        & (approval_requests.c.status == "pending"))).first()
    return _approval(row) if row else None


def list_approvals(conn: Connection, status: str | None = "pending") -> list[Approval]:
    q = select(approval_requests).order_by(approval_requests.c.requested_at,
                                           approval_requests.c.id)
    if status:
        q = q.where(approval_requests.c.status == status)
    return [_approval(r) for r in conn.execute(q)]


def decide(conn: Connection, approval_id: str, *, by: Principal, approve: bool,
           now: datetime, reason: str | None = None) -> Approval:
    """Approve or reject a pending request (audited). The checker needs finance or
    controller and is never the maker."""
    found = get(conn, approval_id)
    if found is None:
        raise ApprovalRefused(f"no approval request {approval_id}", problem="not_found")
    require(by, *APPROVERS, action="approving a billing request")
    if by.name == found.requested_by:
        raise SelfApproval(f"{by.name} requested {approval_id}: another principal must "
                           f"{'approve' if approve else 'reject'} it (separation of duties)")
    if found.status != "pending":
        raise ApprovalRefused(f"{approval_id} is {found.status}, not pending",
                              problem="not_pending")
    status = "approved" if approve else "rejected"
    conn.execute(update(approval_requests).where(approval_requests.c.id == approval_id)
                 .values(status=status, decided_by=by.name, decided_at=iso(now),
                         decision_reason=reason))
    after = get(conn, approval_id)
    assert after is not None
    audit.append(conn, actor=by.name, action=f"{found.kind}.{'approve' if approve else 'reject'}",
                 subject=f"approval/{approval_id}", now=now, before=found.as_dict(),
                 after=after.as_dict(), reason=reason)
    return after


def record_outcome(conn: Connection, approval_id: str, outcome: dict[str, Any]) -> None:
    conn.execute(update(approval_requests).where(approval_requests.c.id == approval_id)
                 .values(outcome=json.dumps(outcome, sort_keys=True, default=str)))
