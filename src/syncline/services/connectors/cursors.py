"""Incremental cursors, one per (connector, stream): read, written with the batch, reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update

from syncline.adapters.db.connector_tables import connector_cursors
from syncline.services.clock import iso


@dataclass(frozen=True)
class CursorRow:
    connector: str
    stream: str
    value: str | None
    updated_at: str
    last_run_at: str | None
    last_status: str | None
    last_error: str | None
    records_total: int


def read(conn: Connection, connector: str, stream: str) -> str | None:
    return conn.execute(select(connector_cursors.c.value).where(
        (connector_cursors.c.connector == connector)
        & (connector_cursors.c.stream == stream))).scalar()


def listing(engine: Engine, connector: str | None = None) -> list[CursorRow]:
    query = select(connector_cursors).order_by(connector_cursors.c.connector,
                                               connector_cursors.c.stream)
    if connector:
        query = query.where(connector_cursors.c.connector == connector)
    with engine.connect() as conn:
        return [CursorRow(**dict(r._mapping)) for r in conn.execute(query)]


def _ensure(conn: Connection, connector: str, stream: str, stamp: str) -> None:
    exists = conn.execute(select(connector_cursors.c.stream).where(
        (connector_cursors.c.connector == connector)
        & (connector_cursors.c.stream == stream))).first()
    if exists is None:
        conn.execute(insert(connector_cursors).values(
            connector=connector, stream=stream, value=None, updated_at=stamp,
            records_total=0))


def advance(conn: Connection, connector: str, stream: str, value: str | None, records: int,
            now: datetime) -> None:
    """Store the position after a committed batch (the caller's transaction)."""
    stamp = iso(now)
    _ensure(conn, connector, stream, stamp)
    values: dict[str, object] = {
        "updated_at": stamp,
        "records_total": connector_cursors.c.records_total + records}
    if value is not None:
        values["value"] = value
    conn.execute(update(connector_cursors).where(
        (connector_cursors.c.connector == connector)
        & (connector_cursors.c.stream == stream)).values(**values))


def finish(engine: Engine, connector: str, stream: str, status: str, error: str | None,
           now: datetime) -> None:
    stamp = iso(now)
    with engine.begin() as conn:
        _ensure(conn, connector, stream, stamp)
        conn.execute(update(connector_cursors).where(
            (connector_cursors.c.connector == connector)
            & (connector_cursors.c.stream == stream)).values(
                last_run_at=stamp, last_status=status, last_error=error))


def reset(engine: Engine, connector: str, stream: str | None, now: datetime) -> int:
    """Forget the position (the next sync reads from the start; what was stored stays and
    re-reading it is a duplicate). Returns the number of cursors reset."""
    with engine.begin() as conn:
        where = connector_cursors.c.connector == connector
        if stream:
            where = where & (connector_cursors.c.stream == stream)
        return conn.execute(delete(connector_cursors).where(where)).rowcount or 0
