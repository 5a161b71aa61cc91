"""Outbox rows: one shape for every command that leaves through the outbox."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from syncline.adapters.db.tables import outbox
from syncline.services.clock import iso
from syncline.services.ids import new_id


def last_seq(conn: Connection) -> int:
    """The highest outbox sequence so far (delivery order follows it)."""
    return int(conn.execute(select(func.max(outbox.c.seq))).scalar() or 0)


def outbox_row(seq: int, kind: str, target: str, payload: Mapping[str, Any], *,
               correlation_id: str | None, now: datetime,
               group_key: str | None = None) -> dict[str, Any]:
    return {"id": new_id("out"), "seq": seq, "kind": kind, "target": target,
            "group_key": group_key, "payload": json.dumps(payload, sort_keys=True, default=str),
            "correlation_id": correlation_id, "status": "pending", "attempts": 0,
            "created_at": iso(now)}
