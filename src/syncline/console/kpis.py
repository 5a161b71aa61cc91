"""The KPI dashboard: each KPI of services/kpis month by month (``kpi_trends``), charted by the
vendored Chart.js (static/vendor, drawn by static/kpis.js from the page's JSON), with its
written definition one click away (a ``<details>`` per chart, and ``#def-<kpi>`` anchors)
and its exact figures in a table. Filters: legal entity, first and last month. Any reader
role sees it (as ``GET /v1/kpis``). The months over are kept until anything new is committed
(services/kpis/cache.py, ADR 0015)."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from syncline.bootstrap import Syncline
from syncline.console import web
from syncline.services.governance.roles import READERS
from syncline.services.kpis.cache import KpiCache
from syncline.services.kpis.series import default_range, kpi_trends
from syncline.services.ledger.reports.registry import report_options


def router(system: Syncline) -> APIRouter:
    pages = APIRouter()
    entities = [e.code for e in system.ref.entities]
    cache = KpiCache.of(system.engine)  # the months over, until anything new is committed

    @pages.get("/kpis", response_class=HTMLResponse)
    def dashboard(request: Request, entity: str = "", first: str = "",
                  last: str = "") -> HTMLResponse:
        web.require(web.principal(request), READERS, "the KPI dashboard")
        if entity and entity not in entities:
            raise HTTPException(422, f"unknown legal entity {entity!r}: {', '.join(entities)}")
        now = system.clock()
        with system.engine.connect() as conn:
            kept = cache.view(conn)  # the change token first, then what is computed at it
            start, end = default_range(conn, now)
            first, last = first or start, last or end
            try:
                trends = kpi_trends(conn, first, last, entity=entity or None,
                                    options=report_options(system), now=now, kept=kept)
            except ValueError as bad:
                raise HTTPException(422, str(bad)) from None
        charts = [t.as_dict() for t in trends]
        return web.page(request, "kpis.html", nav="kpis", entity=entity, entities=entities,
                        first=first, last=last, charts=charts,
                        data=json.dumps(charts).replace("</", "<\\/"))

    return pages
