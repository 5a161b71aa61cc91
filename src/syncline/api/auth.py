"""Who is calling, and may they: every route declares the roles it needs.

``Requires(*roles)`` is a FastAPI dependency: it authenticates the request (``X-API-Key``, or
``Authorization: Bearer <key>``) through the app's authenticator (``app.state.authenticate``,
set by ``create_app``) — 401 when the key is missing, unknown, expired or revoked — and
answers 403 unless the principal holds one of ``roles``; it yields the ``Principal``, whose
name the route passes to the services as the actor. ``public`` marks the few routes that need
no key (health). The role-matrix test reads these declarations from ``app.routes``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from syncline.services.governance.roles import ROLES, Principal


def _token(x_api_key: str | None, authorization: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


async def authenticate(request: Request, x_api_key: str | None, authorization: str | None
                       ) -> Principal:
    """The caller's principal, or 401. A key verified in the last seconds is answered from
    the authenticator's cache without leaving the event loop (api/principals.py); otherwise
    it is verified in a worker thread (a database read)."""
    token = _token(x_api_key, authorization)
    principal = None
    if token:
        check = request.app.state.authenticate
        cached = getattr(check, "cached", None)
        principal = cached(token) if cached is not None else None
        if principal is None:
            principal = await run_in_threadpool(check, token)
    if principal is None:
        raise HTTPException(401, "missing, invalid, expired or revoked API key (X-API-Key "
                            "header)", headers={"WWW-Authenticate": "Bearer"})
    assert isinstance(principal, Principal)
    return principal


class Requires:
    """The dependency of a route that needs one of ``roles``."""

    def __init__(self, *roles: str) -> None:
        unknown = set(roles) - set(ROLES)
        assert roles and not unknown, f"declare known roles, got {roles}"
        self.roles: tuple[str, ...] = roles

    async def __call__(self, request: Request,
                       x_api_key: Annotated[str | None, Header()] = None,
                       authorization: Annotated[str | None, Header()] = None) -> Principal:
        principal = await authenticate(request, x_api_key, authorization)
        if not principal.has(*self.roles):
            raise HTTPException(403, f"{request.method} {request.url.path} needs the role "
                                f"{' or '.join(self.roles)}; {principal.name} has "
                                f"{', '.join(sorted(principal.roles)) or 'none'}")
        limiter = getattr(request.app.state, "limiter", None)
        if limiter is not None:  # per principal, after authorization (api/limits.py)
            if limiter.local:
                limiter.check(principal.name)
            else:  # a shared store (Redis): network I/O, off the event loop
                await run_in_threadpool(limiter.check, principal.name)
        request.state.principal = principal
        return principal

    def __repr__(self) -> str:
        return f"Requires{self.roles}"


def public() -> None:
    """Marks a route that needs no key."""


async def authenticated(request: Request,
                        x_api_key: Annotated[str | None, Header()] = None,
                        authorization: Annotated[str | None, Header()] = None) -> Principal:
    """Any valid key (the routers' guard; each route still declares its roles)."""
    return await authenticate(request, x_api_key, authorization)


def declared_roles(route: object) -> tuple[str, ...] | None:
    """The roles a route declares: () for public, None when it declares nothing."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    stack, found = list(dependant.dependencies), None
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Requires):
            found = tuple(sorted(set(found or ()) | set(dep.call.roles)))
        elif dep.call is public:
            found = found or ()
        stack.extend(dep.dependencies)
    return found



def needs(*roles: str) -> list[Any]:
    """``dependencies=needs(...)`` for a route that does not use the principal itself."""
    return [Depends(Requires(*roles))]


def api_routes(app: Any) -> list[tuple[str, frozenset[str], tuple[str, ...] | None]]:
    """Every API route of ``app`` with its full path (router prefixes included), methods and
    declared roles (``declared_roles``) — what the role-matrix test and docs/governance.md
    read. FastAPI ≥ 0.16x keeps included routers lazily; ``iter_route_contexts`` flattens
    them."""
    from fastapi import routing

    out = []
    flatten = getattr(routing, "iter_route_contexts", None)
    pairs = ([(c.path, c.original_route) for c in flatten(app.routes)] if flatten
             else [(getattr(r, "path", ""), r) for r in app.routes])
    for path, route in pairs:
        if isinstance(route, routing.APIRoute):
            out.append((path or route.path, frozenset(route.methods or ()), declared_roles(route)))
    return out
