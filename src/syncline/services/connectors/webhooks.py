"""The webhook log: every delivery kept as received, accepted or refused, with the reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select

from syncline.adapters.db.connector_tables import connector_webhooks
from syncline.services.clock import iso
from syncline.services.ids import new_id

# never stored: they carry credentials (a vendor's signature is not one: it is kept, to audit)
_SECRET_HEADERS = frozenset({"authorization", "cookie", "x-api-key", "proxy-authorization"})


def body_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def record(conn: Connection, connector: str, *, headers: dict[str, str], body: bytes,
           status: str, reason: str | None, events: int, now: datetime) -> str:
    row_id = new_id("whk")
    kept = {k: v for k, v in sorted(headers.items()) if k.lower() not in _SECRET_HEADERS}
    conn.execute(insert(connector_webhooks).values(
        id=row_id, connector=connector, received_at=iso(now), status=status,
        reason=reason, headers=json.dumps(kept), body=body_text(body), events=events))
    return row_id


def record_refused(engine: Engine, connector: str, *, headers: dict[str, str], body: bytes,
                   reason: str, now: datetime) -> str:
    with engine.begin() as conn:
        return record(conn, connector, headers=headers, body=body, status="refused",
                      reason=reason, events=0, now=now)


@dataclass(frozen=True)
class WebhookRow:
    id: str
    connector: str
    received_at: str
    status: str
    reason: str | None
    events: int


def counts(engine: Engine) -> dict[str, dict[str, int]]:
    """Webhook receipts per connector and status (accepted, refused)."""
    c = connector_webhooks.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.connector, c.status, func.count()).group_by(
            c.connector, c.status))
        out: dict[str, dict[str, int]] = {}
        for connector, status, n in rows:
            out.setdefault(str(connector), {})[str(status)] = int(n)
        return out


def recent(engine: Engine, connector: str, limit: int = 20) -> list[WebhookRow]:
    c = connector_webhooks.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.id, c.connector, c.received_at, c.status, c.reason,
                                   c.events).where(c.connector == connector)
                            .order_by(c.received_at.desc()).limit(limit))
        return [WebhookRow(**dict(r._mapping)) for r in rows]
