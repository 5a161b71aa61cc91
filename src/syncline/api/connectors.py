"""Connectors over HTTP: the vendors' webhook endpoint, and the connectors' state.

``POST /v1/connectors/{name}/webhook`` carries no API key (a vendor cannot send ours): the
connector verifies the vendor's signature on the raw body instead (401 when it is wrong,
kept in the webhook log as refused). A verified delivery is stored in the inbox before the
answer (the Salesforce Outbound Message gets its SOAP Ack); a notification that only names
changed records wakes the named streams' sync in the background.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from syncline.api import binding
from syncline.api.auth import Requires, public
from syncline.bootstrap import Syncline
from syncline.connectors.receive import receive
from syncline.connectors.registry import Resolve
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.base import WebhookRequest
from syncline.connectors.sdk.config import ConnectorConfigInvalid
from syncline.connectors.sdk.secrets import MissingSecret
from syncline.services.connectors.cursors import listing
from syncline.services.governance.roles import READERS


def configured_connectors(system: Syncline) -> Resolve:
    """Connectors from SYNCLINE_CONNECTORS_CONFIG, built on first use and kept: the
    system's one resolver, shared with delivery and the worker."""
    resolve: Resolve = system.connectors
    return resolve


def router(system: Syncline, resolve: Resolve) -> APIRouter:
    api = APIRouter(tags=["connectors"])
    limit = binding.max_body_bytes()

    @api.post("/connectors/{name}/webhook", dependencies=[Depends(public)])
    async def webhook(name: str, request: Request, background: BackgroundTasks) -> Response:
        """A vendor's webhook: verified by the vendor's signature on the raw body, no API key."""
        try:
            connector = await run_in_threadpool(resolve, name)
        except (MissingSecret, ConnectorConfigInvalid) as broken:
            raise HTTPException(503, f"connector {name!r} cannot start: {broken}") from None
        if connector is None or not hasattr(connector, "webhook"):
            raise HTTPException(404, f"no connector {name!r} receives webhooks")
        body = await binding.read_body(request, limit)
        incoming = WebhookRequest(
            method=request.method, url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()}, body=body,
            received_at=system.clock())
        done = await run_in_threadpool(receive, system.engine, connector, incoming)  # type: ignore[arg-type]
        streams = {s.name: s for s in connector.streams()}
        for stream_name in done.reply.wake:
            if stream_name in streams:
                background.add_task(run_stream, system.engine, name, streams[stream_name],
                                    clock=system.clock)
        return Response(done.reply.body, status_code=done.reply.status,
                        media_type=done.reply.media_type)

    @api.get("/connectors", dependencies=[Depends(Requires(*READERS))])
    def connectors_state() -> list[dict[str, Any]]:
        """Every stream's cursor, last run and last error."""
        return [row.__dict__ for row in listing(system.engine)]

    return api
