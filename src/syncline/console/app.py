"""The web console at ``/console``: a sub-application mounted by ``api.app.create_app``.

Server-rendered (Jinja2) with HTMX for partial updates; its assets are vendored under
``static/`` (no CDN). Sign-in takes an API key, checked by the API's own authenticator
(``parent.state.authenticate``: the same principals and roles); the session is a signed
cookie (``web.py``). The session secret is ``SYNCLINE_CONSOLE_SECRET`` when set (sessions
survive a restart and are shared by processes), else a random one per process;
``SYNCLINE_CONSOLE_SECURE_COOKIE=true`` marks the cookie Secure (served over HTTPS).
"""

from __future__ import annotations

import os
import secrets

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from syncline.bootstrap import Syncline
from syncline.console import close, connectors, contracts, exceptions, kpis, lineage, web


def create(system: Syncline, parent: FastAPI) -> FastAPI:
    """The console over ``system``; ``parent`` is the API app (its authenticator)."""
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    secret = os.environ.get("SYNCLINE_CONSOLE_SECRET") or secrets.token_hex(32)
    secure = os.environ.get("SYNCLINE_CONSOLE_SECURE_COOKIE", "").lower() in ("1", "true", "yes")
    console.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="syncline_console",
                           max_age=web.SESSION_SECONDS, path="/console", same_site="strict",
                           https_only=secure)
    console.mount("/static", StaticFiles(directory=str(web.STATIC_DIR)), name="static")

    @console.exception_handler(web.SignInRequired)
    def to_sign_in(request: Request, _: Exception) -> Response:
        if request.headers.get("hx-request"):  # an HTMX swap: redirect the whole page
            return Response(status_code=204, headers={"HX-Redirect": "/console/login"})
        return RedirectResponse("/console/login", status_code=303)

    @console.exception_handler(HTTPException)
    def error_page(request: Request, problem: Exception) -> Response:
        assert isinstance(problem, HTTPException)
        return web.page(request, "error.html", status_code=problem.status_code,
                        code=problem.status_code, detail=problem.detail)

    @console.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        web.principal(request)
        return RedirectResponse("/console/exceptions", status_code=303)

    @console.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return web.page(request, "login.html")

    @console.post("/login")
    async def login(request: Request) -> Response:
        fields = await web.form(request)
        token = fields.get("api_key", "").strip()
        who = await run_in_threadpool(parent.state.authenticate, token) if token else None
        if who is None:
            return web.page(request, "login.html", status_code=401,
                            error="Unknown, expired or revoked API key.")
        web.sign_in(request, who)
        return RedirectResponse("/console/exceptions", status_code=303)

    @console.post("/logout")
    async def logout(request: Request) -> Response:
        await web.form(request)
        request.session.clear()
        return RedirectResponse("/console/login", status_code=303)

    for module in (exceptions, lineage, close, connectors, kpis, contracts):
        console.include_router(module.router(system))
    return console
