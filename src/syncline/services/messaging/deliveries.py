"""Delivery status per document, and the dead letters' two actions (issue 13).

Every outbox row is a delivery: pending, delivered (with the target's reference for the
document: the vendor's id, also put in the cross-reference), failed (a dead letter: the
target refused it, or retries ran out; one IT exception is open) or compensated (undone by
its saga), or skipped. A dead letter has two actions, each audited and each closing its
exception:

- **retry**: back to pending with its attempts reset; sent again with the *same*
  idempotency key (the outbox id), so a target that had accepted it answers with the
  document it has instead of making a second one;
- **skip**: finance decides it is not to be sent (posted by hand in the ERP, or obsolete);
  it stays in the outbox as ``skipped`` with the reason.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, cast, func, select, update

from syncline.adapters.db.tables import exceptions, outbox
from syncline.services.clock import iso
from syncline.services.governance import audit
from syncline.services.messaging.delivery import document_key
from syncline.services.messaging.exceptions import resolve


class DeliveryRefused(ValueError):
    pass


@dataclass(frozen=True)
class Delivery:
    id: str
    seq: int
    kind: str
    target: str
    document: str | None
    entity: str | None
    status: str
    attempts: int
    created_at: str
    delivered_at: str | None
    reference: str | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _view(r: Any) -> Delivery:
    payload = json.loads(r.payload)
    return Delivery(r.id, r.seq, r.kind, r.target, document_key(payload),
                    payload.get("entity") or payload.get("legal_entity"), r.status,
                    r.attempts, r.created_at, r.delivered_at, r.reference, r.last_error)


def deliveries(conn: Connection, *, status: str | None = None, kind: str | None = None,
               document: str | None = None, limit: int = 200) -> list[Delivery]:
    query = select(outbox).order_by(outbox.c.seq.desc())
    if status:
        query = query.where(outbox.c.status == status)
    if kind:
        query = query.where(outbox.c.kind == kind)
    if document:  # the document's key appears in the payload as a JSON string
        query = query.where(outbox.c.payload.contains(json.dumps(document)))
    rows = [_view(r) for r in conn.execute(query.limit(limit if not document else 10_000))]
    if document:
        rows = [d for d in rows if d.document == document][:limit]
    return rows


@dataclass(frozen=True)
class TargetCount:
    target: str
    entity: str | None
    status: str
    count: int


def _payload_text(conn: Connection, key: str) -> Any:
    """A top-level text field of the payload, as the database reads it (no row decoded here):
    an empty text counts as none."""
    if conn.dialect.name == "postgresql":
        value = func.json_extract_path_text(cast(outbox.c.payload, JSON), key)
    else:
        value = func.json_extract(outbox.c.payload, f"$.{key}")
    return func.nullif(value, "")


def counts(conn: Connection) -> list[TargetCount]:
    """How many deliveries each target has in each status, by the documents' legal entity
    (``entity``, else ``legal_entity``: the ERP route is chosen by entity): the health of the
    outbox at a glance, counted by the database, not by decoding every payload."""
    entity = func.coalesce(_payload_text(conn, "entity"), _payload_text(conn, "legal_entity"))
    found: dict[tuple[str, str | None, str], int] = {}
    for target, ent, status, n in conn.execute(
            select(outbox.c.target, entity, outbox.c.status, func.count())
            .group_by(outbox.c.target, entity, outbox.c.status)):
        key = (str(target), str(ent) if ent is not None else None, str(status))
        found[key] = found.get(key, 0) + int(n)
    return [TargetCount(t, e, s, n) for (t, e, s), n in sorted(
        found.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2]))]


def delivery(conn: Connection, outbox_id: str) -> Delivery | None:
    row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()
    return _view(row) if row else None


def _dead_letter(conn: Connection, outbox_id: str) -> Delivery:
    found = delivery(conn, outbox_id)
    if found is None:
        raise DeliveryRefused(f"no delivery {outbox_id}")
    if found.status != "failed":
        raise DeliveryRefused(f"delivery {outbox_id} is {found.status}: only a failed "
                              "delivery (a dead letter) can be retried or skipped")
    return found


def _close_exceptions(conn: Connection, outbox_id: str, *, actor: str, action: str,
                      reason: str, now: datetime) -> None:
    for exc_id in conn.execute(select(exceptions.c.id).where(
            (exceptions.c.outbox_id == outbox_id) & (exceptions.c.status == "open"))).scalars():
        resolve(conn, exc_id, now=now, actor=actor, action=action, reason=reason,
                status="resolved" if action == "retry" else "skipped")


def retry(conn: Connection, outbox_id: str, *, actor: str, reason: str,
          now: datetime) -> Delivery:
    before = _dead_letter(conn, outbox_id)
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
        status="pending", attempts=0))
    _close_exceptions(conn, outbox_id, actor=actor, action="retry", reason=reason, now=now)
    after = delivery(conn, outbox_id)
    assert after is not None
    audit.append(conn, actor=actor, action="delivery.retry", subject=f"outbox/{outbox_id}",
                 now=now, before=before.as_dict(), after=after.as_dict(), reason=reason)
    return after


def skip(conn: Connection, outbox_id: str, *, actor: str, reason: str,
         now: datetime) -> Delivery:
    if not reason.strip():
        raise DeliveryRefused("skipping a delivery needs a reason (it is audited)")
    before = _dead_letter(conn, outbox_id)
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
        status="skipped", last_error=f"skipped by {actor}: {reason}",
        delivered_at=iso(now)))
    _close_exceptions(conn, outbox_id, actor=actor, action="skip", reason=reason, now=now)
    after = delivery(conn, outbox_id)
    assert after is not None
    audit.append(conn, actor=actor, action="delivery.skip", subject=f"outbox/{outbox_id}",
                 now=now, before=before.as_dict(), after=after.as_dict(), reason=reason)
    return after
