"""Who a token is: an OIDC bearer token, a ``SYNCLINE_API_KEYS`` key, or a stored key — with
the stored keys it has verified kept for a few seconds.

A stored key costs a database read (its SHA-256 looked up) on every request otherwise: the
most expensive part of a small request after storing it. A verified key is cached, keyed by
the SHA-256 of the token (the token itself is not kept), for ``CACHE_SECONDS`` of the system
clock and never beyond the key's own expiry, so:

- a key revoked through this process (``POST /v1/keys/{name}/revoke``) is refused at once
  (``forget()`` empties the cache);
- a key revoked anywhere else (``syncline keys revoke``, another API process) is refused by
  this process at most ``CACHE_SECONDS`` (5 s) later — the revocation delay;
- an expired key is refused from its expiry on, as before.

Unknown or refused tokens are not cached (a flood of bad tokens cannot fill the cache; each
is looked up). OIDC tokens are verified every time (their signature and ``exp`` are the
verifier's). ``last_used_at`` is stamped when a key is verified against the database and at
most once a minute a key (``USE_RESOLUTION_SECONDS``), as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from syncline.services.clock import iso
from syncline.services.governance.keys import (
    USE_RESOLUTION_SECONDS,
    active_key,
    digest,
    env_principal,
    principal_of,
    record_use,
)
from syncline.services.governance.roles import Principal

CACHE_SECONDS = 5.0
MAX_CACHED = 10_000  # distinct keys; beyond, the cache starts again


class Authenticator:
    """``authenticator(token)`` → the principal or None (may read the database);
    ``cached(token)`` → the principal if verified within ``CACHE_SECONDS``, without I/O."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], env_keys: set[str],
                 env_roles: str, oidc: Any = None, cache_seconds: float = CACHE_SECONDS
                 ) -> None:
        self.engine, self.clock = engine, clock
        self.env_keys, self.env_roles, self.oidc = env_keys, env_roles, oidc
        self.ttl = timedelta(seconds=cache_seconds)
        # digest → (principal, verified at, valid until, key expiry or None)
        self._cache: dict[str, tuple[Principal, datetime, datetime, str | None]] = {}
        self._used: dict[str, datetime] = {}  # when this process last stamped a key's use

    def _is_oidc(self, token: str) -> bool:
        return self.oidc is not None and token.count(".") == 2 and not token.startswith("sk_")

    def cached(self, token: str) -> Principal | None:
        if self._is_oidc(token):
            return None
        found = self._cache.get(digest(token))
        if found is None:
            return None
        principal, verified, until, expires = found
        now = self.clock()
        if not verified <= now < until or (expires is not None and expires <= iso(now)):
            return None
        return principal

    def forget(self) -> None:
        """Verify every key again (a key was revoked or changed here)."""
        self._cache.clear()

    def __call__(self, token: str) -> Principal | None:
        """An OIDC token (when configured), a SYNCLINE_API_KEYS key (compatibility), else a
        stored key (hashed, named)."""
        if self._is_oidc(token):
            return self.oidc.principal(token)  # type: ignore[no-any-return]
        found = self.cached(token)
        if found is not None:
            return found
        now = self.clock()
        expires: str | None = None
        principal = env_principal(token, self.env_keys, self.env_roles)
        if principal is None:
            with self.engine.connect() as conn:
                view = active_key(conn, token, now=now)
            if view is None:
                return None
            principal, expires = principal_of(view), view.expires_at
            last = self._used.get(principal.name)
            if last is None or not 0 <= (now - last).total_seconds() < USE_RESOLUTION_SECONDS:
                self._used[principal.name] = now
                with self.engine.begin() as conn:
                    record_use(conn, principal.name, now=now)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[digest(token)] = (principal, now, now + self.ttl, expires)
        return principal
