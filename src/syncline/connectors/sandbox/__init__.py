"""In-process sandbox ERP and PSA: they record what they receive, idempotent on the key."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select, update

from syncline.adapters.db.connector_tables import sandbox_received
from syncline.services.clock import Clock, iso, system_clock
from syncline.services.messaging.delivery import Refused


class SandboxTarget:
    """A target system that keeps every command it accepted, once per idempotency key.

    `refuse` names command kinds it refuses for good (to exercise compensation).
    """

    def __init__(self, engine: Engine, name: str, *, refuse: frozenset[str] = frozenset(),
                 clock: Clock = system_clock) -> None:
        self.engine, self.name, self.refuse, self.clock = engine, name, refuse, clock

    def deliver(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str:
        if kind in self.refuse:
            raise Refused(f"{self.name} refused {kind}: validation error in sandbox")
        with self.engine.begin() as conn:
            row = conn.execute(select(sandbox_received.c.deliveries).where(
                (sandbox_received.c.target == self.name)
                & (sandbox_received.c.idempotency_key == idempotency_key))).first()
            if row is None:
                conn.execute(sandbox_received.insert().values(
                    target=self.name, idempotency_key=idempotency_key, kind=kind,
                    payload=json.dumps(payload, sort_keys=True), received_at=iso(self.clock()),
                    deliveries=1))
            else:
                conn.execute(update(sandbox_received).where(
                    (sandbox_received.c.target == self.name)
                    & (sandbox_received.c.idempotency_key == idempotency_key))
                    .values(deliveries=row.deliveries + 1))
        return f"{self.name}:{idempotency_key}"

    def compensate(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(sandbox_received).where(
                (sandbox_received.c.target == self.name)
                & (sandbox_received.c.idempotency_key == idempotency_key))
                .values(kind=f"{kind} (undone)"))


def sandbox_targets(engine: Engine, refuse: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {"erp": SandboxTarget(engine, "erp", refuse=refuse),
            "psa": SandboxTarget(engine, "psa", refuse=refuse),
            "crm": SandboxTarget(engine, "crm", refuse=refuse)}
