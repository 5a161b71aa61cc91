"""Staffing over HTTP (mounted under /v1): the ranked candidates of a resource request (PMO
and every reader; services/workforce/matching.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from syncline.api.auth import needs
from syncline.bootstrap import Syncline
from syncline.services.governance.roles import READERS
from syncline.services.workforce.matching import matches


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["staffing"])

    @api.get("/staffing/requests/{request_id}/matches", dependencies=needs(*READERS))
    def staffing_matches(request_id: str, top: Annotated[int, Query(ge=1, le=500)] = 10
                         ) -> dict[str, Any]:
        """Candidates for a resource request, best first: score out of 100, its parts
        (skills 35, availability 30, cost 15, location 10, role 5, utilization 5) and the
        reasons in words; 404 for an unknown request."""
        with system.engine.connect() as conn:
            found = matches(conn, request_id, top)
        if found is None:
            raise HTTPException(404, f"no resource request {request_id}")
        return found

    return api
