"""``GET /metrics``: Prometheus exposition (services/telemetry/scrape.py). Behind a key of any
reader role (the KPIs are the firm's finance figures): a scrape sends ``Authorization:
Bearer <key>`` (Prometheus ``authorization: {credentials: …}``) or ``X-API-Key``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from syncline.api.auth import needs
from syncline.bootstrap import Syncline
from syncline.services.governance.roles import READERS
from syncline.services.telemetry.scrape import CONTENT_TYPE, exposition


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["operations"])

    @api.get("/metrics", dependencies=needs(*READERS), response_class=Response)
    def metrics() -> Response:
        """Queue depths, apply latency, delivery attempts and the current month's KPIs by
        legal entity, in the Prometheus text format."""
        return Response(exposition(system.engine, system.clock()), media_type=CONTENT_TYPE)

    return api
