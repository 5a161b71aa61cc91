"""Roles and principals.

- integration: posts events, reads;
- billing: billing runs, adjustments, credit requests, hard-cap release requests; reads;
- pmo: project office (reads today; the roles of project changes build on it);
- finance: closes periods, recognises revenue, approves billing requests; reads;
- controller: locks and reopens periods (with a reason), approves billing requests; reads;
- auditor: reads everything, changes nothing (audit log included);
- admin: API keys and configuration; reads.

No role implies another: an admin who also closes months is given both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

INTEGRATION = "integration"
BILLING = "billing"
PMO = "pmo"
FINANCE = "finance"
CONTROLLER = "controller"
AUDITOR = "auditor"
ADMIN = "admin"

ROLES: tuple[str, ...] = (INTEGRATION, BILLING, PMO, FINANCE, CONTROLLER, AUDITOR, ADMIN)
READERS: tuple[str, ...] = ROLES  # every role reads
APPROVERS: tuple[str, ...] = (FINANCE, CONTROLLER)  # checkers of billing requests


class UnknownRole(ValueError):
    pass


def parse_roles(text: str | Iterable[str]) -> frozenset[str]:
    """Roles from ``"a,b"`` or an iterable; an unknown role raises ``UnknownRole``."""
    items = text.split(",") if isinstance(text, str) else list(text)
    roles = frozenset(r.strip().lower() for r in items if r.strip())
    unknown = sorted(roles - set(ROLES))
    if unknown:
        raise UnknownRole(f"unknown role(s) {', '.join(unknown)}; roles: {', '.join(ROLES)}")
    return roles


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts: a name recorded as the actor, the roles it holds, how it authenticated."""

    name: str
    roles: frozenset[str]
    via: str = "key"  # key | env-key | cli | system

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "roles": sorted(self.roles), "via": self.via}


class Forbidden(PermissionError):
    """A principal without the role an action needs, or approving its own request."""


def require(principal: Principal, *roles: str, action: str = "this") -> None:
    if not principal.has(*roles):
        raise Forbidden(f"{action} needs the role {' or '.join(roles)}; {principal.name} has "
                        f"{', '.join(sorted(principal.roles)) or 'none'}")
