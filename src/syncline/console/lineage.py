"""The lineage page: search any id, see its chain (the queries are services/lineage.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from syncline.bootstrap import Syncline
from syncline.console import web
from syncline.services.lineage import find


def router(system: Syncline) -> APIRouter:
    pages = APIRouter()

    @pages.get("/lineage", response_class=HTMLResponse)
    def lineage_page(request: Request, q: str = "") -> HTMLResponse:
        web.principal(request)
        chain = None
        if q.strip():
            with system.engine.connect() as conn:
                chain = find(conn, q)
        return web.page(request, "lineage.html", nav="lineage", q=q, chain=chain,
                        status_code=404 if q.strip() and chain is None else 200)

    return pages
