"""Deliveries over HTTP (mounted under /v1): status per document; retry or skip a dead
letter (finance or admin, audited; the actor is the caller's principal)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from syncline.api.auth import Requires
from syncline.bootstrap import Syncline
from syncline.services.governance.roles import ADMIN, FINANCE, READERS, Principal
from syncline.services.messaging import deliveries as d

Reader = Annotated[Principal, Depends(Requires(*READERS))]
Actor = Annotated[Principal, Depends(Requires(FINANCE, ADMIN))]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["deliveries"])

    @api.get("/deliveries")
    def list_deliveries(_: Reader, status: Annotated[str | None, Query(max_length=20)] = None,
                        kind: Annotated[str | None, Query(max_length=100)] = None,
                        document: Annotated[str | None, Query(max_length=200)] = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100
                        ) -> list[dict[str, Any]]:
        """Deliveries, newest first: pending, delivered (with the target's reference),
        failed (dead letters), compensated, skipped."""
        with system.engine.connect() as conn:
            return [r.as_dict() for r in d.deliveries(conn, status=status, kind=kind,
                                                      document=document, limit=limit)]

    @api.get("/deliveries/{outbox_id}")
    def get_delivery(outbox_id: str, _: Reader) -> dict[str, Any]:
        with system.engine.connect() as conn:
            found = d.delivery(conn, outbox_id)
        if found is None:
            raise HTTPException(404, f"no delivery {outbox_id}")
        return found.as_dict()

    def act(action: str, outbox_id: str, body: Decision, who: Principal) -> dict[str, Any]:
        try:
            with system.engine.begin() as conn:
                done = (d.retry if action == "retry" else d.skip)(
                    conn, outbox_id, actor=who.name, reason=body.reason, now=system.clock())
        except d.DeliveryRefused as refused:
            raise HTTPException(409 if "only a failed" in str(refused) else 404,
                                str(refused)) from None
        return done.as_dict()

    @api.post("/deliveries/{outbox_id}/retry")
    def retry(outbox_id: str, body: Decision, who: Actor) -> dict[str, Any]:
        """Send a dead letter again with its idempotency key (audited)."""
        return act("retry", outbox_id, body, who)

    @api.post("/deliveries/{outbox_id}/skip")
    def skip(outbox_id: str, body: Decision, who: Actor) -> dict[str, Any]:
        """Mark a dead letter as not to be sent (audited)."""
        return act("skip", outbox_id, body, who)

    return api
