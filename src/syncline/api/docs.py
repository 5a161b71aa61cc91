"""The API's own documentation, served offline and behind the API key; security headers.

- ``GET /openapi.json`` needs a key (``X-API-Key``) like every other endpoint, unless
  ``SYNCLINE_PUBLIC_DOCS=true``.
- ``GET /docs`` is Swagger UI from assets vendored in the package (``api/static/swagger-ui``:
  swagger-ui-dist 5.35.0 from npm, Apache-2.0, its LICENSE and NOTICE beside it), never a
  CDN, so the console works offline. The page itself holds no API detail: it asks for the
  key (kept in the tab's sessionStorage only) and sends it with every request it makes,
  the document's included.
- Every response carries ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Content-Security-Policy: frame-ancestors 'none'`` and ``Referrer-Policy: no-referrer``;
  API responses (all but the static assets) ``Cache-Control: no-store``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ASSETS = "/docs/assets"
SWAGGER_UI_VERSION = "5.35.0"

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png"></head>
<body><form id="key" style="font-family:sans-serif;margin:1em" hidden>
<label>API key (X-API-Key) <input id="k" type="password" autocomplete="off"></label>
<button>Open</button></form><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/init.js"></script></body></html>
"""

# the initializer is a file of its own (no inline script: a CSP without 'unsafe-inline' holds)
_INIT = """(function () {
  var form = document.getElementById("key");
  function open(key) {
    window.SwaggerUIBundle({
      url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
      requestInterceptor: function (req) { if (key) { req.headers["X-API-Key"] = key; }
                                           return req; }
    });
  }
  var stored = sessionStorage.getItem("syncline-api-key");
  if (stored !== null) { open(stored); return; }
  form.hidden = false;
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var key = document.getElementById("k").value;
    sessionStorage.setItem("syncline-api-key", key);
    form.hidden = true;
    open(key);
  });
})();
"""


def public_docs() -> bool:
    return os.environ.get("SYNCLINE_PUBLIC_DOCS", "").lower() in ("1", "true", "yes")


def install(app: FastAPI, require_key: Callable[..., Any]) -> None:
    """Add /openapi.json (behind the key unless public), /docs and its vendored assets.
    The app is made with ``openapi_url=None, docs_url=None, redoc_url=None``."""
    guard = [] if public_docs() else [Depends(require_key)]

    @app.get("/openapi.json", include_in_schema=False, dependencies=guard)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE.format(title=f"{app.title} - docs", assets=ASSETS))

    @app.get(f"{ASSETS}/init.js", include_in_schema=False)
    def init_js() -> Response:
        return Response(_INIT, media_type="application/javascript")

    folder = resources.files("syncline.api").joinpath("static/swagger-ui")
    app.mount(ASSETS, StaticFiles(directory=str(folder)), name="docs-assets")


_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """ASGI middleware: the security headers on every response, ``no-store`` on API ones."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(ASSETS + "/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = list(_HEADERS)
                if not static:
                    extra.append((b"cache-control", b"no-store"))
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
