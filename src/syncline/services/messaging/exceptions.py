"""The exception queue: one record per failure that needs a person, with its actions audited."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from syncline.adapters.db.tables import exception_actions, exceptions, inbox, parked
from syncline.domain.errors import Problem
from syncline.services.clock import iso
from syncline.services.governance import audit
from syncline.services.governance.keys import lapsed_key
from syncline.services.ids import new_id


def raise_exception(
    conn: Connection, problem: Problem, *, now: datetime, inbox_id: str | None = None,
    outbox_id: str | None = None, correlation_id: str | None = None,
) -> str:
    exc_id = new_id("exc")
    conn.execute(exceptions.insert().values(
        id=exc_id, code=problem.code, domain=problem.domain.value,
        severity=problem.severity.value, message=problem.message,
        remediation=problem.remediation, field=problem.field,
        objects=json.dumps([list(o) for o in problem.objects]),
        correlation_id=correlation_id, inbox_id=inbox_id, outbox_id=outbox_id, status="open",
        created_at=iso(now),
    ))
    return exc_id


def resolve(conn: Connection, exc_id: str, *, now: datetime, actor: str, action: str,
            reason: str, status: str = "resolved") -> None:
    conn.execute(update(exceptions).where(exceptions.c.id == exc_id).values(
        status=status, resolved_at=iso(now), resolution=reason))
    conn.execute(exception_actions.insert().values(
        exception_id=exc_id, action=action, actor=actor, reason=reason, at=iso(now)))


@dataclass(frozen=True, slots=True)
class ExceptionView:
    id: str
    code: str
    domain: str
    severity: str
    status: str
    message: str
    remediation: str
    field: str | None
    objects: list[list[str]]
    correlation_id: str | None
    inbox_id: str | None
    outbox_id: str | None
    created_at: str
    resolution: str | None
    assigned_to: str | None = None
    assigned_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__) if hasattr(self, "__dict__") else {
            f: getattr(self, f) for f in self.__slots__}


def _open_exception(conn: Connection, code: str, objects: Sequence[Sequence[str]]
                    ) -> str | None:
    wanted = [list(o) for o in objects]
    for r in conn.execute(select(exceptions.c.id, exceptions.c.objects).where(
            (exceptions.c.code == code) & (exceptions.c.status == "open"))):
        if json.loads(r.objects) == wanted:
            return str(r.id)
    return None


def raise_once(conn: Connection, problem: Problem, now: datetime) -> str:
    """One open exception per (code, objects): a repeated run (a close, a recognition) does
    not add another; returns its id."""
    return _open_exception(conn, problem.code, problem.objects) or raise_exception(
        conn, problem, now=now)


def resolve_if_open(conn: Connection, code: str, objects: Sequence[Sequence[str]],
                    now: datetime, reason: str) -> None:
    """Resolve the open exception of (code, objects), if any: its cause went away."""
    found = _open_exception(conn, code, objects)
    if found:
        resolve(conn, found, now=now, actor="system", action="auto_resolve", reason=reason)


def _view(row: Any) -> ExceptionView:
    return ExceptionView(
        id=row.id, code=row.code, domain=row.domain, severity=row.severity, status=row.status,
        message=row.message, remediation=row.remediation, field=row.field,
        objects=json.loads(row.objects), correlation_id=row.correlation_id,
        inbox_id=row.inbox_id, outbox_id=row.outbox_id, created_at=row.created_at,
        resolution=row.resolution, assigned_to=row.assigned_to, assigned_at=row.assigned_at,
    )


UNASSIGNED = ""  # ``list_exceptions(assignee=UNASSIGNED)``: those nobody has taken


def list_exceptions(conn: Connection, *, status: str | None = "open",
                    domain: str | None = None, assignee: str | None = None,
                    limit: int = 500) -> list[ExceptionView]:
    """Exceptions, oldest first; ``assignee``: only those assigned to that principal, or
    with ``UNASSIGNED`` (the empty string) those assigned to nobody (None: all)."""
    q = select(exceptions).order_by(exceptions.c.created_at, exceptions.c.id).limit(limit)
    if status:
        q = q.where(exceptions.c.status == status)
    if domain:
        q = q.where(exceptions.c.domain == domain)
    if assignee is not None:
        q = q.where(exceptions.c.assigned_to.is_(None) if assignee == UNASSIGNED
                    else exceptions.c.assigned_to == assignee)
    return [_view(r) for r in conn.execute(q)]


def get_exception(conn: Connection, exc_id: str) -> tuple[ExceptionView, dict[str, Any]] | None:
    """The exception and its lineage: the inbox message (raw), park history and actions."""
    row = conn.execute(select(exceptions).where(exceptions.c.id == exc_id)).first()
    if row is None:
        return None
    lineage: dict[str, Any] = {"actions": [
        dict(a._mapping) for a in conn.execute(
            select(exception_actions).where(exception_actions.c.exception_id == exc_id)
            .order_by(exception_actions.c.id))
    ]}
    if row.inbox_id:
        msg = conn.execute(select(inbox).where(inbox.c.id == row.inbox_id)).first()
        if msg is not None:
            lineage["inbox"] = {k: v for k, v in msg._mapping.items() if k != "raw"}
            lineage["raw"] = msg.raw
        lineage["parked"] = [dict(p._mapping) for p in conn.execute(
            select(parked).where(parked.c.inbox_id == row.inbox_id).order_by(parked.c.id))]
    return _view(row), lineage


class AssignRefused(ValueError):
    pass


class AssigneeRefused(AssignRefused):
    """The assignee is an API key that can no longer act (revoked or expired)."""


def assign(conn: Connection, exc_id: str, assignee: str | None, *, actor: str,
           now: datetime, reason: str = "") -> ExceptionView:
    """Give the exception to ``assignee`` (a principal's name; None or blank: take it back
    to nobody). Recorded in the exception's actions and the audit log (before/after); an
    unknown exception raises ``AssignRefused``; the name of an API key that is revoked or
    expired raises ``AssigneeRefused`` (nobody holding it can act on the exception: even
    when it is already its assignee, to say so). A name that is no stored key is taken as
    given (an OIDC or CLI principal is known to no table). Assigning to the same person
    changes nothing and records nothing."""
    row = conn.execute(select(exceptions).where(exceptions.c.id == exc_id)).first()
    if row is None:
        raise AssignRefused(f"no exception {exc_id}")
    who = (assignee or "").strip() or None
    if who is not None and len(who) > 200:
        raise AssigneeRefused("a principal's name is at most 200 characters")
    lapsed = lapsed_key(conn, who, now=now) if who is not None else None
    if lapsed is not None:
        when = (f"was revoked at {lapsed.revoked_at}" if lapsed.revoked_at
                else f"expired at {lapsed.expires_at}")
        raise AssigneeRefused(f"the key {who!r} {when}: it can no longer act on an exception")
    if who == row.assigned_to:
        return _view(row)
    conn.execute(update(exceptions).where(exceptions.c.id == exc_id).values(
        assigned_to=who, assigned_at=iso(now) if who else None))
    said = f"assigned to {who}" if who else "unassigned"
    conn.execute(exception_actions.insert().values(
        exception_id=exc_id, action="assign" if who else "unassign", actor=actor,
        reason=reason.strip() or said, at=iso(now)))
    audit.append(conn, actor=actor, action="exception.assign", subject=f"exception/{exc_id}",
                 now=now, before={"assigned_to": row.assigned_to},
                 after={"assigned_to": who}, reason=reason.strip() or said)
    found = conn.execute(select(exceptions).where(exceptions.c.id == exc_id)).first()
    return _view(found)


def counts_by_domain(conn: Connection) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in conn.execute(select(exceptions.c.domain, exceptions.c.status)):
        if r.status == "open":
            out[r.domain] = out.get(r.domain, 0) + 1
    return dict(sorted(out.items()))


def combine(problems: tuple[Problem, ...]) -> Problem:
    """A message's problems as the one its exception states (the first's code and field)."""
    if len(problems) == 1:
        return problems[0]
    first = problems[0]
    return Problem(first.code, first.domain, "; ".join(p.message for p in problems),
                   " ".join(dict.fromkeys(p.remediation for p in problems)), first.field,
                   first.severity, tuple(dict.fromkeys(o for p in problems for o in p.objects)))
