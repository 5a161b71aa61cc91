"""HR's people as Syncline received them: the ``worker.upserted`` messages of the configured
HR source (``settings.hr_source``, e.g. ``workday/hr``), last one per worker, read through the
inbox's (source, event_id) index. Harvest users are matched to workers by their work email,
and a worker's role comes from here unless configured per Harvest user.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import inbox
from syncline.connectors.harvest.mapping import Person


def people(conn: Connection, hr_source: str) -> dict[str, Person]:
    """By worker id and by ``email:<lower-cased email>``."""
    out: dict[str, Person] = {}
    rows = conn.execute(select(inbox.c.raw).where(
        (inbox.c.source == hr_source) & (inbox.c.type == "worker.upserted")
        & (inbox.c.status != "rejected")).order_by(inbox.c.seq))
    for (raw,) in rows:
        data = json.loads(raw).get("data") or {}
        wid = data.get("worker_id")
        if not wid:
            continue
        person = Person(wid, data.get("role"), f"worker {wid}")
        out[wid] = person
        if data.get("email"):
            out["email:" + str(data["email"]).strip().lower()] = person
    return out
