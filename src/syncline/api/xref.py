"""The cross-reference table over HTTP (mounted under /v1): browse (every role) and repair
(admin; audited, services/xref.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from syncline.api.auth import Requires, needs
from syncline.bootstrap import Syncline
from syncline.services import xref
from syncline.services.governance.roles import ADMIN, READERS, Principal


class NewLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str = Field(min_length=1, max_length=40, description="crm, psa, hris, …")
    object_type: str = Field(min_length=1, max_length=40,
                             description="account, deal, project, worker, …")
    external_id: str = Field(min_length=1, max_length=200)
    to: str = Field(min_length=1, max_length=40, description="the Syncline id to link to")
    reason: str = Field(min_length=1, max_length=2000)


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["cross-reference"])

    @api.get("/xref", dependencies=needs(*READERS))
    def xref_list(source: Annotated[str | None, Query(alias="system", description=(
                      "crm, psa, hris, …"))] = None,
                  object_type: Annotated[str | None, Query(alias="type")] = None,
                  limit: int = 1000) -> list[dict[str, Any]]:
        """Links of outside ids to Syncline objects (filter by ``system`` and ``type``)."""
        with system.engine.connect() as conn:
            return [k.as_dict() for k in xref.links(conn, system=source,
                                                   object_type=object_type, limit=limit)]

    @api.get("/xref/{key}", dependencies=needs(*READERS))
    def xref_show(key: str) -> list[dict[str, Any]]:
        """The links of a Syncline id or of an external id; 404 when there is none."""
        with system.engine.connect() as conn:
            found = xref.show(conn, key)
        if not found:
            raise HTTPException(404, f"no cross-reference of {key}")
        return [k.as_dict() for k in found]

    @api.post("/xref/links")
    def xref_link(body: NewLink, principal: Annotated[Principal, Depends(Requires(ADMIN))]
                  ) -> dict[str, Any]:
        """Link an external id to an existing Syncline object of its type, or move its link
        (audited: before, after, reason); 404 for a target that does not exist, 422 for a
        type that cannot be linked."""
        try:
            with system.engine.begin() as conn:
                return xref.link(conn, system=body.system, object_type=body.object_type,
                                 external_id=body.external_id, to=body.to,
                                 reason=body.reason, actor=principal.name,
                                 now=system.clock())
        except xref.LinkRefused as refused:
            raise HTTPException(404 if refused.problem == "not_found" else 422,
                                str(refused)) from None

    return api
