"""KPIs over HTTP (mounted under /v1, any reader role): ``GET /v1/kpis?period=&entity=`` —
the month's KPIs by legal entity with their definitions (services/kpis)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from syncline.api.auth import needs
from syncline.bootstrap import Syncline
from syncline.ledger.periods import is_period_name
from syncline.services.governance.roles import READERS
from syncline.services.kpis import DEFINITIONS, compute_kpis, jsonable
from syncline.services.ledger.reports.registry import report_options


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["kpis"])

    @api.get("/kpis", dependencies=needs(*READERS))
    def kpis(period: str | None = None, entity: str | None = None) -> dict[str, Any]:
        """The month's KPIs (default: this month) for one legal entity or all: figures as
        decimal strings (`null` where there is nothing to measure), each KPI's definition in
        `definitions`."""
        now = system.clock()
        month = period or now.strftime("%Y-%m")
        if not is_period_name(month):
            raise HTTPException(422, f"period must be YYYY-MM, got {month!r}")
        with system.engine.connect() as conn:
            figures = compute_kpis(conn, month, entity=entity, options=report_options(system),
                                   now=now)
        return {"period": month, "entity": entity, "definitions": DEFINITIONS,
                "kpis": jsonable(figures)}

    return api
