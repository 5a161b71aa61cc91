"""Per-request telemetry (an ASGI middleware): when JSON logs are configured
(services/telemetry/logs.py), the request's correlation id — the ``X-Correlation-ID`` header,
or one made here — is bound for everything logged while it is served, sent back in the
``X-Correlation-ID`` response header, and one ``http.request`` line records method, path,
status, the principal (as ``Requires`` authenticated it) and the duration."""

from __future__ import annotations

import time
import uuid
from typing import Any

from syncline.services.telemetry import logs

HEADER = b"x-correlation-id"


class RequestLog:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not logs.enabled():
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(HEADER, b"").decode("latin-1")[:200]
        correlation = given or f"req-{uuid.uuid4().hex}"
        status: dict[str, int] = {}

        async def answer(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", ()),
                                                  (HEADER, correlation.encode("latin-1"))]}
            await send(message)

        started = time.perf_counter()
        with logs.bound(correlation_id=correlation):
            try:
                await self.app(scope, receive, answer)
            finally:
                principal = (scope.get("state") or {}).get("principal")
                logs.log("http.request", method=scope["method"], path=scope["path"],
                         status=status.get("code", 500),
                         principal=getattr(principal, "name", None),
                         duration_ms=round((time.perf_counter() - started) * 1000, 3))
