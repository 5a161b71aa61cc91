"""API keys: named, with roles, expiring, revocable, stored hashed, shown once.

A key is ``sk_`` + 43 URL-safe characters from ``secrets`` (256 random bits). The database
keeps only its SHA-256 (and the first characters, to tell keys apart in a listing). A fast
hash is enough here — and is what GitHub or Stripe tokens use: a slow password hash
(argon2, bcrypt) protects *low-entropy* secrets against guessing, while 256 random bits
cannot be guessed; SHA-256 lets a request find its key by an indexed lookup instead of
checking every stored key with a deliberately slow function.

The keys of ``SYNCLINE_API_KEYS`` (the environment, as before governance) still work: each is
the principal ``env:<first 8 hex of its SHA-256>`` with the roles of
``SYNCLINE_API_KEY_ROLES`` (default ``integration``: post events and read).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from syncline.adapters.db.governance_tables import api_keys
from syncline.services.clock import iso
from syncline.services.governance import audit
from syncline.services.governance.roles import Principal, parse_roles

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


class KeyRefused(ValueError):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyView:
    name: str
    prefix: str
    roles: list[str]
    created_at: str
    created_by: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    def status(self, now: datetime) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= iso(now):
            return "expired"
        return "active"

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "prefix": self.prefix, "roles": self.roles,
            "created_at": self.created_at, "created_by": self.created_by,
            "expires_at": self.expires_at, "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at}
        if now is not None:
            out["status"] = self.status(now)
        return out


def _expiry(expires: datetime | str | None) -> str | None:
    if expires is None or expires == "":
        return None
    if isinstance(expires, str):
        try:
            expires = datetime.fromisoformat(expires)
        except ValueError:
            raise KeyRefused(f"expiry must be a date YYYY-MM-DD or an ISO instant, got "
                             f"{expires!r}") from None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return iso(expires)


def create_key(conn: Connection, name: str, roles: list[str] | str, *, by: str,
               now: datetime, expires: datetime | str | None = None) -> tuple[str, KeyView]:
    """A new key: ``(token, view)``. The token is returned here only, never stored."""
    if not NAME.match(name):
        raise KeyRefused(f"a key name is 1-100 letters, digits or . _ @ -, got {name!r}")
    parsed = sorted(parse_roles(roles))
    if not parsed:
        raise KeyRefused("a key needs at least one role")
    expires_at = _expiry(expires)
    if expires_at is not None and expires_at <= iso(now):
        raise KeyRefused(f"expiry {expires_at} is not in the future")
    if conn.execute(select(api_keys.c.name).where(api_keys.c.name == name)).first():
        raise KeyRefused(f"a key named {name!r} exists (revoke it, or choose another name)")
    token = "sk_" + secrets.token_urlsafe(32)
    view = KeyView(name, token[:10], parsed, iso(now), by, expires_at, None, None)
    conn.execute(api_keys.insert().values(
        name=name, key_hash=digest(token), prefix=view.prefix, roles=",".join(parsed),
        created_at=view.created_at, created_by=by, expires_at=expires_at))
    audit.append(conn, actor=by, action="key.create", subject=f"key/{name}", now=now,
                 after=view.as_dict())
    return token, view


def _view(r: Any) -> KeyView:
    return KeyView(r.name, r.prefix, r.roles.split(","), r.created_at, r.created_by,
                   r.expires_at, r.revoked_at, r.last_used_at)


def list_keys(conn: Connection) -> list[KeyView]:
    return [_view(r) for r in conn.execute(select(api_keys).order_by(api_keys.c.name))]


def live_names(conn: Connection, *, now: datetime) -> list[str]:
    """The names of the keys that can still act (neither revoked nor expired), sorted: the
    people an exception can be given to, as the console suggests them."""
    return [k.name for k in list_keys(conn) if k.status(now) == "active"]


def lapsed_key(conn: Connection, name: str, *, now: datetime) -> KeyView | None:
    """The key called ``name`` when it can no longer act (revoked or expired); None when it
    is active or no key has that name (a name may be an OIDC or CLI principal's)."""
    row = conn.execute(select(api_keys).where(api_keys.c.name == name)).first()
    if row is None:
        return None
    view = _view(row)
    return None if view.status(now) == "active" else view


def revoke_key(conn: Connection, name: str, *, by: str, now: datetime,
               reason: str | None = None) -> KeyView:
    row = conn.execute(select(api_keys).where(api_keys.c.name == name)).first()
    if row is None:
        raise KeyRefused(f"no key named {name!r}")
    before = _view(row)
    if before.revoked_at:
        raise KeyRefused(f"key {name!r} was revoked at {before.revoked_at}")
    conn.execute(update(api_keys).where(api_keys.c.name == name).values(
        revoked_at=iso(now), revoked_by=by))
    after = _view(conn.execute(select(api_keys).where(api_keys.c.name == name)).one())
    audit.append(conn, actor=by, action="key.revoke", subject=f"key/{name}", now=now,
                 before=before.as_dict(), after=after.as_dict(), reason=reason)
    return after


def env_principal(token: str, env_keys: set[str], env_roles: str) -> Principal | None:
    """A compatibility key of ``SYNCLINE_API_KEYS`` (constant-time compare), else None."""
    if not any(secrets.compare_digest(token.encode(), k.encode()) for k in env_keys):
        return None
    return Principal(f"env:{digest(token)[:8]}", parse_roles(env_roles), via="env-key")


USE_RESOLUTION_SECONDS = 60  # last_used_at is kept to the minute: one write a key a minute


def active_key(conn: Connection, token: str, *, now: datetime) -> KeyView | None:
    """The stored key of ``token``; None when unknown, expired or revoked."""
    row = conn.execute(select(api_keys).where(api_keys.c.key_hash == digest(token))).first()
    if row is None:
        return None
    view = _view(row)
    return view if view.status(now) == "active" else None


def principal_of(view: KeyView) -> Principal:
    return Principal(view.name, frozenset(view.roles), via="key")


def authenticate(conn: Connection, token: str, *, now: datetime) -> Principal | None:
    """The principal of a stored key; None when unknown, expired or revoked."""
    view = active_key(conn, token, now=now)
    return None if view is None else principal_of(view)


def record_use(conn: Connection, name: str, *, now: datetime) -> None:
    """Stamp a key's ``last_used_at`` (a unit of work of its own; callers do it at most once
    a key every ``USE_RESOLUTION_SECONDS``, so a busy key costs one write a minute)."""
    conn.execute(update(api_keys).where(api_keys.c.name == name).values(last_used_at=iso(now)))
