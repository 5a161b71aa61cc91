"""Governance over HTTP (mounted under /v1): who am I, maker-checker billing requests and
their approval, the audit log and its verification, API keys. Each route declares its roles;
the actor is always the caller's principal."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from syncline.api.auth import Requires, needs
from syncline.bootstrap import Syncline
from syncline.services.billing import maker_checker as mc
from syncline.services.governance import approvals, audit
from syncline.services.governance.keys import KeyRefused, create_key, list_keys, revoke_key
from syncline.services.governance.roles import (
    ADMIN,
    APPROVERS,
    AUDITOR,
    BILLING,
    CONTROLLER,
    READERS,
    Forbidden,
    Principal,
    UnknownRole,
)

AUDIT_READERS = (AUDITOR, CONTROLLER, ADMIN)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an `actor`, `by` or `role` field is refused


class AdjustmentRequest(Strict):
    contract: str = Field(max_length=100)
    amount: str = Field(max_length=40, description="Signed decimal: -250.00 is a discount")
    description: str = Field(max_length=1000)
    reason: str = Field(min_length=1, max_length=2000)
    currency: str | None = Field(default=None, max_length=3)
    on: str | None = Field(default=None, description="Service date YYYY-MM-DD")
    adjusts: list[str] = Field(default_factory=list, max_length=1000)
    adjustment_id: str | None = Field(default=None, max_length=100)


class ReleaseRequest(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class CreditRequest(Strict):
    items: list[str] = Field(min_length=1, max_length=1000)
    reason: str = Field(min_length=1, max_length=2000)
    corrected_hours: str | None = None


class Decision(Strict):
    reason: str | None = Field(default=None, max_length=2000)


class NewKey(Strict):
    name: str = Field(max_length=100)
    roles: list[str] = Field(min_length=1)
    expires: datetime | None = None


class Revocation(Strict):
    reason: str | None = Field(default=None, max_length=2000)


def _refused(err: Exception) -> HTTPException:
    if isinstance(err, Forbidden):
        return HTTPException(403, str(err))
    problem = getattr(err, "problem", "invalid")
    return HTTPException({"not_found": 404, "not_pending": 409, "duplicate": 409}.get(
        problem, 422), str(err))


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["governance"])
    threshold = system.settings.approval_threshold

    @api.get("/whoami")
    def whoami(principal: Annotated[Principal, Depends(Requires(*READERS))]
               ) -> dict[str, object]:
        """The principal of the key you called with, and its roles."""
        return principal.as_dict()

    @api.get("/approvals", dependencies=needs(*READERS))
    def approvals_(status: str = "pending") -> list[dict[str, Any]]:
        """Maker-checker requests (``status``: pending, approved, rejected or all)."""
        with system.engine.connect() as conn:
            return [a.as_dict() for a in approvals.list_approvals(
                conn, None if status == "all" else status)]

    @api.post("/approvals/{approval_id}/approve")
    def approve(approval_id: str, principal: Annotated[Principal, Depends(Requires(
            *APPROVERS))], body: Decision | None = None) -> dict[str, Any]:
        """Approve another principal's request and carry it out (403 for your own)."""
        try:
            return mc.approve(system, approval_id, by=principal,
                              reason=body.reason if body else None)
        except (Forbidden, approvals.ApprovalRefused) as err:
            raise _refused(err) from None

    @api.post("/approvals/{approval_id}/reject")
    def reject(approval_id: str, principal: Annotated[Principal, Depends(Requires(
            *APPROVERS))], body: Decision | None = None) -> dict[str, Any]:
        try:
            return mc.reject(system, approval_id, by=principal,
                             reason=body.reason if body else None)
        except (Forbidden, approvals.ApprovalRefused) as err:
            raise _refused(err) from None

    @api.post("/billing/adjustments", status_code=202)
    def adjustment(body: AdjustmentRequest,
                   principal: Annotated[Principal, Depends(Requires(BILLING))]
                   ) -> dict[str, Any]:
        """Request a manual adjustment: pending until another principal approves it."""
        out = mc.ask_adjustment(system, by=principal, threshold=threshold,
                                **body.model_dump())
        if out["status"] == "rejected":
            raise HTTPException(422, out)
        return out

    @api.post("/billing/holds/{item_key}/release", status_code=202)
    def release(item_key: str, body: ReleaseRequest,
                principal: Annotated[Principal, Depends(Requires(BILLING))]
                ) -> dict[str, Any]:
        """Request the release of an amount held at a hard cap."""
        try:
            return mc.ask_release(system, item_key, by=principal, threshold=threshold,
                                  reason=body.reason)
        except mc.RequestRefused as err:
            raise _refused(err) from None

    @api.post("/invoices/{number}/credit-requests", status_code=202)
    def credit(number: str, body: CreditRequest,
               principal: Annotated[Principal, Depends(Requires(BILLING))]
               ) -> dict[str, Any]:
        """Request a credit note for items of an invoice (issued by the next run once
        approved)."""
        try:
            hours = Decimal(body.corrected_hours) if body.corrected_hours else None
        except InvalidOperation:
            raise HTTPException(422, "corrected_hours must be a number") from None
        from syncline.services.billing.queries import find_invoice

        with system.engine.connect() as conn:
            if find_invoice(conn, number) is None:
                raise HTTPException(404, f"no invoice {number}")
        return mc.ask_credit(system, by=principal, threshold=threshold,
                             invoice_number=number, keys=body.items, reason=body.reason,
                             corrected_hours=hours)

    @api.get("/audit", dependencies=needs(*AUDIT_READERS))
    def audit_list(actor: str | None = None, action: str | None = None,
                   limit: int = 1000) -> list[dict[str, Any]]:
        """The audit log, oldest first (the last ``limit`` rows)."""
        with system.engine.connect() as conn:
            return audit.entries(conn, actor=actor, action=action,
                                 limit=max(1, min(limit, 10000)))

    @api.get("/audit/verify", dependencies=needs(*AUDIT_READERS))
    def audit_verify() -> dict[str, Any]:
        """Recompute the hash chain: ok, or the first edited, deleted or inserted row."""
        with system.engine.connect() as conn:
            return audit.verify(conn).as_dict()

    @api.get("/keys", dependencies=needs(ADMIN))
    def keys_list() -> list[dict[str, Any]]:
        with system.engine.connect() as conn:
            return [k.as_dict(system.clock()) for k in list_keys(conn)]

    @api.post("/keys", status_code=201)
    def keys_create(body: NewKey, principal: Annotated[Principal, Depends(Requires(ADMIN))]
                    ) -> dict[str, Any]:
        """A new key; the answer holds the token, shown this once (only its hash is kept)."""
        try:
            with system.engine.begin() as conn:
                token, view = create_key(conn, body.name, body.roles, by=principal.name,
                                         now=system.clock(), expires=body.expires)
        except (KeyRefused, UnknownRole) as err:
            raise HTTPException(409 if "exists" in str(err) else 422, str(err)) from None
        return {"key": token, **view.as_dict(system.clock())}

    @api.post("/keys/{name}/revoke")
    def keys_revoke(name: str, principal: Annotated[Principal, Depends(Requires(ADMIN))],
                    request: Request, body: Revocation | None = None) -> dict[str, Any]:
        try:
            with system.engine.begin() as conn:
                view = revoke_key(conn, name, by=principal.name, now=system.clock(),
                                  reason=body.reason if body else None)
        except KeyRefused as err:
            raise HTTPException(404 if "no key" in str(err) else 409, str(err)) from None
        forget = getattr(request.app.state.authenticate, "forget", None)
        if forget is not None:  # refused from now on here (api/principals.py)
            forget()
        return view.as_dict(system.clock())

    return api
