"""After apply: what a person or the clock does to stuck messages.

`sweep_parked` opens one exception for each message parked longer than the park age (it
resolves itself when the prerequisite turns up); `edit_message` replaces a stuck message's
data, keeping the raw text it had as a revision; `replay` re-applies one stored message
idempotently and resolves its open exceptions when it applies.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from syncline.adapters.db.tables import exceptions, inbox, inbox_revisions, parked
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.domain.reference import ReferenceData
from syncline.schemas import validate_event
from syncline.services.clock import Clock, iso
from syncline.services.messaging import leases
from syncline.services.messaging.drain import process_pending
from syncline.services.messaging.exceptions import raise_exception, resolve
from syncline.services.messaging.outcomes import Stats
from syncline.services.messaging.processor import apply_batch


def sweep_parked(engine: Engine, *, as_of: datetime, max_age: timedelta, clock: Clock) -> int:
    """Open one exception for each message parked longer than `max_age` (once)."""
    cutoff = iso(as_of - max_age)
    opened = 0
    now = clock()
    with engine.begin() as conn:
        leases.hold_alone(conn)  # PostgreSQL: never beside a batch that releases these
        stale = conn.execute(select(parked, inbox.c.type, inbox.c.correlation_id)
                             .join(inbox, inbox.c.id == parked.c.inbox_id)
                             .where(parked.c.released_at.is_(None)
                                    & parked.c.exception_id.is_(None)
                                    & (parked.c.parked_at <= cutoff))).all()
        for p in stale:
            kind, _, key = p.prerequisite.partition(":")
            domain = {"worker": BusinessDomain.HR, "fx": BusinessDomain.FINANCE,  # treasury
                      "rate_card": BusinessDomain.BILLING}.get(kind, BusinessDomain.PMO)
            exc_id = raise_exception(conn, Problem(
                f"parked.{kind}_missing", domain,
                f"{p.type} waits for {kind} {key}, which never arrived ({p.reason}); parked "
                f"since {p.parked_at}",
                f"Create or activate {kind} {key} in its system of record (or correct the "
                "reference and replay); the message is released on its own when it arrives.",
                severity=Severity.MEDIUM, objects=((kind, key), ("inbox", p.inbox_id))),
                now=now, inbox_id=p.inbox_id, correlation_id=p.correlation_id)
            conn.execute(update(parked).where(parked.c.id == p.id).values(exception_id=exc_id))
            opened += 1
    return opened


class EditRefused(ValueError):
    """An edit that cannot be replayed (wrong status, or the edited message is invalid)."""


EDITABLE = ("failed", "rejected", "parked")


def edit_message(engine: Engine, inbox_id: str, data: dict[str, Any], *, actor: str,
                 reason: str, clock: Clock) -> None:
    """Replace a stuck message's `data`, keeping the previous raw text as a revision."""
    with engine.begin() as conn:
        row = conn.execute(select(inbox).where(inbox.c.id == inbox_id)).first()
        if row is None:
            raise KeyError(inbox_id)
        if row.status not in EDITABLE:
            raise EditRefused(f"message {inbox_id} is {row.status}; only {', '.join(EDITABLE)} "
                              "messages can be edited")
        try:
            message = json.loads(row.raw)
        except json.JSONDecodeError:
            raise EditRefused("the stored message is not JSON: have the sender re-send it"
                              ) from None
        message["data"] = data
        problems = validate_event(message)
        if problems:
            raise EditRefused("the edited message is invalid: " + "; ".join(map(str, problems)))
        revision = len(conn.execute(select(inbox_revisions.c.id).where(
            inbox_revisions.c.inbox_id == inbox_id)).all()) + 1
        conn.execute(inbox_revisions.insert().values(
            inbox_id=inbox_id, revision=revision, raw=row.raw, actor=actor, reason=reason,
            at=iso(clock())))
        conn.execute(update(inbox).where(inbox.c.id == inbox_id).values(
            raw=json.dumps(message, sort_keys=True, separators=(",", ":")),
            status="failed" if row.status == "rejected" else row.status))


def replay(engine: Engine, inbox_id: str, ref: ReferenceData, clock: Clock,
           actor: str = "operator") -> tuple[str, Stats]:
    """Re-apply one stored message idempotently; resolves its open exceptions if it applies."""
    with engine.begin() as conn:
        leases.hold_alone(conn)  # PostgreSQL: applied alone, as in arrival order
        row = conn.execute(select(inbox).where(inbox.c.id == inbox_id)).first()
        if row is None:
            raise KeyError(inbox_id)
        if row.status == "rejected":
            try:
                problems = validate_event(json.loads(row.raw))
            except json.JSONDecodeError:
                return "rejected: the stored message is not JSON; re-send a corrected one", Stats()
            if problems:
                return "rejected: " + "; ".join(map(str, problems)), Stats()
        conn.execute(update(inbox).where(inbox.c.id == inbox_id).values(status="received"))
        conn.execute(update(parked).where((parked.c.inbox_id == inbox_id)
                                          & parked.c.released_at.is_(None))
                     .values(released_at=iso(clock())))
        open_ids = [r.id for r in conn.execute(select(exceptions.c.id).where(
            (exceptions.c.inbox_id == inbox_id) & (exceptions.c.status == "open")))]
        stats = Stats()
        rows = conn.execute(select(inbox).where(inbox.c.id == inbox_id)).all()
        apply_batch(conn, rows, ref, clock(), stats)
        status = conn.execute(select(inbox.c.status).where(inbox.c.id == inbox_id)).scalar()
        reason = (f"replayed: message {status}" if status in ("applied", "stale")
                  else f"replayed: message {status} again; see the newer exception")
        for exc_id in open_ids:
            resolve(conn, exc_id, now=clock(), actor=actor, action="replay", reason=reason)
    process_pending(engine, ref, clock)  # anything it released
    return str(status), stats
