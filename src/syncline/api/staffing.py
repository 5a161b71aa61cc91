"""Staffing over HTTP (mounted under /v1), for every reader (PMO included): the ranked
candidates of a resource request (services/workforce/matching.py) and the workforce reports
(services/workforce/reports.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from syncline.api.auth import needs
from syncline.bootstrap import Syncline
from syncline.services.governance.roles import READERS
from syncline.services.workforce.matching import matches
from syncline.services.workforce.reports import WORKFORCE_REPORTS
from syncline.services.workforce.reports import workforce_report as build


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

    @api.get("/workforce/reports/{name}", dependencies=needs(*READERS))
    def workforce_report(name: str, period: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")],
                         months: Annotated[int, Query(ge=1, le=36)] = 12) -> dict[str, Any]:
        """A workforce report for a month (utilization, forecast, bench) as JSON tables;
        404 for another name."""
        if name not in WORKFORCE_REPORTS:
            raise HTTPException(404, f"no report {name!r}; reports: "
                                f"{', '.join(WORKFORCE_REPORTS)}")
        with system.engine.connect() as conn:
            return build(conn, name, period, months, system.ref).as_dict()

    return api
