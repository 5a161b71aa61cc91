"""Deliver outbox rows to target systems: the steps the durable workflows run.

A target (ERP, PSA …) implements `Target`; the idempotency key sent is the outbox id, so a
retried or replayed delivery never creates a second object. Provisioning rows that share a
`group_key` form a saga: ERP customer → PSA project → budget/billing rule; when a later step is
refused for good, the earlier ones are compensated (undone) in reverse order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, select, update

from syncline.adapters.db.tables import outbox, projects, xref
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.services.clock import Clock, iso
from syncline.services.messaging.exceptions import raise_exception
from syncline.services.telemetry import metrics, traces


class TransientFailure(Exception):
    """The target is unavailable: retry with backoff."""


class Refused(Exception):
    """The target refused the command for good (validation): no retry; compensate."""


class Target(Protocol):
    name: str

    def deliver(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str: ...

    def compensate(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Pending:
    outbox_id: str
    kind: str
    target: str
    group_key: str | None


def pending(engine: Engine, limit: int = 10_000) -> list[Pending]:
    with engine.connect() as conn:
        return [Pending(r.id, r.kind, r.target, r.group_key) for r in conn.execute(
            select(outbox.c.id, outbox.c.kind, outbox.c.target, outbox.c.group_key)
            .where(outbox.c.status == "pending").order_by(outbox.c.seq).limit(limit))]


XREF_TYPES = {"erp.customer.upsert": "customer", "erp.journal.post": "journal"}


def send(engine: Engine, targets: dict[str, Target], outbox_id: str) -> str:
    """Send one row (its attempt counted first, in a transaction of its own, so a crash
    mid-send still shows the try) and return the target's reference for it. Nothing else
    is written here: ``mark_delivered`` keeps the reference, with the row's delivered
    status, in one transaction. Run again, the same key gets the same reference."""
    with engine.begin() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()
        conn.execute(update(outbox).where(outbox.c.id == outbox_id)
                     .values(attempts=outbox.c.attempts + 1))
    target, payload = targets[row.target], json.loads(row.payload)
    if row.attempts:
        metrics.delivery_retries.labels(row.target).inc()
    with traces.stage("syncline.deliver", traces.key(row.correlation_id, "outbox", row.id),
                      outbox_id=row.id, kind=row.kind, target=row.target,
                      attempt=row.attempts + 1):
        return _send(target, row, payload)


def _keep_reference(conn: Any, targets: dict[str, Target] | None, row: Any,
                    reference: str) -> None:
    """The target's reference on the row and, for a document a vendor now holds, the
    vendor's id in the cross-reference (``xref_system`` of the target names the system;
    None for the sandboxes)."""
    conn.execute(update(outbox).where(outbox.c.id == row.id).values(
        reference=str(reference)[:200]))
    target = (targets or {}).get(row.target)
    payload = json.loads(row.payload)
    system = getattr(target, "xref_system", lambda p: None)(payload)
    object_type = payload.get("document") if row.kind == "erp.invoice.post" \
        else XREF_TYPES.get(row.kind)
    key = document_key(payload)
    if system and object_type and key and reference and len(key) <= 40:
        link_external(conn, system, str(object_type), str(reference)[:200], key)


def _send(target: Target, row: Any, payload: dict[str, Any]) -> str:
    """The call to the target (a span of its own), counted by result."""
    try:
        with traces.child("syncline.target", target=row.target, kind=row.kind):
            reference = target.deliver(row.kind, payload, row.id)
    except Refused:
        metrics.delivery_attempts.labels(row.target, "refused").inc()
        raise
    except Exception:
        metrics.delivery_attempts.labels(row.target, "error").inc()
        raise
    metrics.delivery_attempts.labels(row.target, "delivered").inc()
    return reference


def document_key(payload: dict[str, Any]) -> str | None:
    """The document an outbox row carries, by Syncline's key for it."""
    for key in ("number", "source", "customer_id", "deal_id", "code"):
        if payload.get(key):
            return str(payload[key])
    return None


def link_external(conn: Any, system: str, object_type: str, external_id: str,
                  syncline_id: str) -> None:
    """(system, type, the vendor's id) → Syncline's key, once (a re-send finds it)."""
    exists = conn.execute(select(xref.c.syncline_id).where(
        (xref.c.system == system) & (xref.c.object_type == object_type)
        & (xref.c.external_id == external_id))).first()
    if exists is None:
        conn.execute(xref.insert().values(system=system, object_type=object_type,
                                          external_id=external_id, syncline_id=syncline_id))


def compensate(engine: Engine, targets: dict[str, Target], outbox_id: str) -> None:
    with engine.begin() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()
        conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(status="compensated"))
    targets[row.target].compensate(row.kind, json.loads(row.payload), outbox_id)


def mark_delivered(engine: Engine, outbox_id: str, clock: Clock,
                   reference: str | None = None,
                   targets: dict[str, Target] | None = None) -> None:
    """The row delivered, with the reference ``send`` returned (and its cross-reference
    link, the system named by ``targets[row.target]``), in one transaction. The workflow
    passes the send step's recorded output, so a recovered workflow keeps the same one."""
    with engine.begin() as conn:
        row = conn.execute(select(outbox.c.id, outbox.c.kind, outbox.c.target,
                                  outbox.c.payload).where(outbox.c.id == outbox_id)).one()
        conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
            status="delivered", delivered_at=iso(clock()), last_error=None))
        if reference is not None:
            _keep_reference(conn, targets, row, reference)
        if row.kind == "psa.budget.update":  # last step of provisioning: the project is live
            code = json.loads(row.payload)["code"]
            conn.execute(update(projects).where(projects.c.code == code)
                         .values(status="active"))


def mark_failed(engine: Engine, outbox_id: str, error: str, clock: Clock) -> str:
    """Record a delivery that gave up, and open one IT exception for it."""
    with engine.begin() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()
        conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
            status="failed", last_error=error))
        return raise_exception(conn, Problem(
            "delivery.failed", BusinessDomain.IT,
            f"{row.kind} to {row.target} failed: {error}",
            f"Fix the cause in {row.target.upper()} (or the payload), then `syncline "
            f"deliveries retry {outbox_id}` re-sends it with the same idempotency key (or "
            f"`syncline deliveries skip {outbox_id} --reason …` when it is not to be sent).",
            severity=Severity.HIGH, objects=(("outbox", outbox_id),)),
            now=clock(), outbox_id=outbox_id, correlation_id=row.correlation_id)


def deliver_group_inline(engine: Engine, targets: dict[str, Target], ids: list[str],
                         clock: Clock) -> bool:
    """The saga without a workflow engine (tests, and the model the workflow follows)."""
    done: list[str] = []
    for oid in ids:
        try:
            reference = send(engine, targets, oid)
        except Exception as err:
            for prev in reversed(done):
                compensate(engine, targets, prev)
            mark_failed(engine, oid, f"{type(err).__name__}: {err}", clock)
            return False
        mark_delivered(engine, oid, clock, reference, targets)
        done.append(oid)
    return True


def groups(rows: list[Pending]) -> list[tuple[str, list[str]]]:
    """Pending rows as (workflow key, outbox ids): a saga per group, else one row each."""
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.group_key or r.outbox_id, []).append(r.outbox_id)
    return list(out.items())
