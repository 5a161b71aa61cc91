"""Exceptions over HTTP (mounted under /v1), the actions beyond reading: assign one to a
person (a principal's name) or take it back, audited with the caller as the actor. The roles
are those who act on exceptions (the console's and ``syncline replay``'s)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from syncline.api.auth import Requires
from syncline.bootstrap import Syncline
from syncline.services.governance.roles import (
    BILLING,
    CONTROLLER,
    FINANCE,
    INTEGRATION,
    PMO,
    Principal,
)
from syncline.services.messaging.exceptions import AssigneeRefused, AssignRefused, assign

Actor = Annotated[Principal, Depends(Requires(INTEGRATION, BILLING, PMO, FINANCE, CONTROLLER))]


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str | None = Field(default=None, max_length=200,
                           description="The principal's name; null or empty: nobody")
    reason: str = Field(default="", max_length=500)


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["exceptions"])

    @api.post("/exceptions/{exception_id}/assign")
    def assign_exception(exception_id: str, body: Assignment, who: Actor) -> dict[str, Any]:
        """Give an exception to a person, or to nobody (audited: `exception.assign`)."""
        try:
            with system.engine.begin() as conn:
                view = assign(conn, exception_id, body.to, actor=who.name,
                              now=system.clock(), reason=body.reason)
        except AssigneeRefused as refused:  # a revoked or expired key: it cannot act
            raise HTTPException(409, str(refused)) from None
        except AssignRefused as refused:
            raise HTTPException(404, str(refused)) from None
        return view.as_dict()

    return api
