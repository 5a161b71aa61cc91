"""Over-allocation approvals: an assignment refused as beyond capacity is applied once another
principal approves it (maker-checker, services/governance/approvals.py, kind
``over_allocation``, subject ``assignment/<id>``). Approving replays the refused message.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.services.governance import approvals
from syncline.services.governance.roles import Principal
from syncline.services.messaging.replay import replay


def _refused(conn: Any, assignment_id: str) -> Any | None:
    """The failed assignment.confirmed message of ``assignment_id``, if any."""
    for row in conn.execute(select(inbox).where(
            (inbox.c.type == "assignment.confirmed") & (inbox.c.status == "failed"))):
        if json.loads(row.raw).get("data", {}).get("assignment_id") == assignment_id:
            return row
    return None


def ask(system: Any, assignment_id: str, *, by: Principal, reason: str) -> approvals.Approval:
    """Request approval to book ``assignment_id`` beyond the worker's capacity."""
    with system.engine.begin() as conn:
        refused = _refused(conn, assignment_id)
        if refused is None:
            raise approvals.ApprovalRefused(
                f"no refused assignment {assignment_id} to approve", problem="not_found")
        found = approvals.pending_for(conn, "over_allocation", f"assignment/{assignment_id}")
        if found is not None:
            return found
        return approvals.create(
            conn, kind="over_allocation", subject=f"assignment/{assignment_id}", amount=None,
            currency=None, payload={"assignment_id": assignment_id, "inbox_id": refused.id},
            reason=reason, by=by.name, now=system.clock())


def decide(system: Any, approval_id: str, *, by: Principal, approve: bool,
           reason: str | None = None) -> dict[str, Any]:
    """Approve (then replay the refused assignment) or reject an over-allocation request."""
    with system.engine.begin() as conn:
        made = approvals.decide(conn, approval_id, by=by, approve=approve, now=system.clock(),
                                reason=reason)
    if not approve:
        return {"status": "rejected", "approval_id": made.id}
    status, _ = replay(system.engine, made.payload["inbox_id"], system.ref,
                       system.clock, actor=by.name)
    outcome = {"status": "approved", "approval_id": made.id, "message": status}
    with system.engine.begin() as conn:
        approvals.record_outcome(conn, made.id, outcome)
    return outcome
