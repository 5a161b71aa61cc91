"""What Syncline already holds approved from this Harvest connector: one narrow read of the
inbox, so a withdrawn approval can be sent as ``time.rejected``.

An entry is *held approved* when the last ``time.*`` message of this source for it (arrival
order) is a stored ``time.approved`` (not one rejected on arrival). The read uses the inbox's
unique (source, event_id) index: every event id of an entry starts ``TimeEntry/<id>@``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select

from syncline.adapters.db.tables import inbox

PREFIX = "TimeEntry/"
_CHUNK = 200


@dataclass(frozen=True)
class Held:
    harvest_id: str
    version: str  # the approved event's version (its updated_at)
    work_date: str


def held_approved(conn: Connection, source: str, harvest_ids: Iterable[str]) -> dict[str, Held]:
    """Of ``harvest_ids``, those held approved (by Harvest id)."""
    ids = sorted(set(harvest_ids))
    out: dict[str, Held] = {}
    for i in range(0, len(ids), _CHUNK):
        ranges = [and_(inbox.c.event_id >= f"{PREFIX}{h}@", inbox.c.event_id < f"{PREFIX}{h}A")
                  for h in ids[i:i + _CHUNK]]
        out |= _latest(conn, (inbox.c.source == source) & or_(*ranges))
    return out


def all_held_approved(conn: Connection, source: str) -> dict[str, Held]:
    """Every entry of this source held approved (the reconcile's list)."""
    return _latest(conn, (inbox.c.source == source) & (inbox.c.event_id >= PREFIX)
                   & (inbox.c.event_id < PREFIX[:-1] + "0"))


def _latest(conn: Connection, where: object) -> dict[str, Held]:
    rows = conn.execute(select(inbox.c.event_id, inbox.c.type, inbox.c.status, inbox.c.raw)
                        .where(where)  # type: ignore[arg-type]
                        .where(inbox.c.type.in_(("time.approved", "time.rejected")))
                        .order_by(inbox.c.seq))
    out: dict[str, Held] = {}
    for row in rows:
        harvest_id, _, version = row.event_id[len(PREFIX):].partition("@")
        if row.type == "time.approved" and row.status != "rejected":
            work_date = json.loads(row.raw).get("data", {}).get("work_date", "")
            out[harvest_id] = Held(harvest_id, version, work_date)
        elif row.type == "time.rejected":
            out.pop(harvest_id, None)
    return out
