"""What every console page shares: the signed-in principal, CSRF, forms and templates.

Sign-in exchanges an API key (the same keys and roles as the API: the app's authenticator)
for a session: Starlette's signed cookie (itsdangerous) holds the principal's name and roles
and a CSRF token, never the key. A session lasts ``SESSION_SECONDS``; a key revoked meanwhile
ends at that expiry at the latest. Every POST form carries the session's CSRF token
(``csrf`` field), compared in constant time; a POST without it is refused (403).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from syncline.services.governance.roles import Principal

SESSION_SECONDS = 8 * 3600
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATIC_DIR = Path(__file__).parent / "static"


class SignInRequired(Exception):
    """No session: the page redirects to the sign-in form."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def principal(request: Request) -> Principal:
    """The signed-in principal, or ``SignInRequired``."""
    found = request.session.get("principal")
    if not found:
        raise SignInRequired()
    return Principal(found["name"], frozenset(found["roles"]), via="console")


def sign_in(request: Request, who: Principal) -> None:
    request.session.clear()  # a fresh session (and CSRF token) at each sign-in
    request.session["principal"] = {"name": who.name, "roles": sorted(who.roles)}
    csrf_token(request)


async def form_lists(request: Request) -> dict[str, list[str]]:
    """The POSTed form (urlencoded), every value of each field, after checking its CSRF
    token (403 otherwise)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    fields = parse_qs(body, keep_blank_values=True)
    expected = request.session.get("csrf")
    given = (fields.get("csrf") or [""])[-1]
    if not expected or not secrets.compare_digest(given, str(expected)):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return fields


async def form(request: Request) -> dict[str, str]:
    """The POSTed form, the last value of each field (``form_lists``)."""
    return {k: v[-1] for k, v in (await form_lists(request)).items()}


def require(who: Principal, roles: tuple[str, ...], action: str) -> None:
    """403 unless ``who`` holds one of ``roles``."""
    if not who.has(*roles):
        raise HTTPException(403, f"{action} needs the role {' or '.join(roles)}; {who.name} "
                            f"has {', '.join(sorted(who.roles)) or 'none'}")


def age(created_at: str, now: datetime) -> str:
    """How long ago, for a person: 3d 4h, 5h 12m, 7m."""
    then = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    if then.tzinfo is None and now.tzinfo is not None:
        then = then.replace(tzinfo=now.tzinfo)
    minutes = max(int((now - then).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the principal, CSRF token and flash message."""
    who = request.session.get("principal")
    flash = request.session.pop("flash", None)
    return TEMPLATES.TemplateResponse(request, name, {
        "who": who, "csrf": csrf_token(request), "flash": flash, **context},
        status_code=status_code)


def flash(request: Request, text: str, kind: str = "ok") -> None:
    request.session["flash"] = {"text": text, "kind": kind}
