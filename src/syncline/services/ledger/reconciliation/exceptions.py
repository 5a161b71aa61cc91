"""Close reconciliation, exceptions: the open critical exceptions (and unposted journals) the
reconciliation lists, and the open ``ledger.*`` exception that explains a difference."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import exceptions
from syncline.ledger.reports import Table


def open_exceptions(conn: Connection) -> Table:
    rows = tuple(
        (r.id, r.domain, r.severity, r.code, r.created_at, r.message)
        for r in conn.execute(select(exceptions).where(
            (exceptions.c.status == "open")
            & ((exceptions.c.severity == "critical") | exceptions.c.code.like("ledger.%")))
            .order_by(exceptions.c.created_at, exceptions.c.id)))
    return Table("Open critical exceptions (and unposted journals)",
                 ("id", "domain", "severity", "code", "created_at", "message"), rows)


def ledger_exceptions(conn: Connection) -> list[tuple[str, list[tuple[str, str]]]]:
    """Open ``ledger.*`` exceptions (id, objects), oldest first."""
    return [(str(r.id), [(o[0], o[1]) for o in json.loads(r.objects)])
            for r in conn.execute(select(exceptions.c.id, exceptions.c.objects).where(
                exceptions.c.code.like("ledger.%") & (exceptions.c.status == "open"))
                .order_by(exceptions.c.created_at, exceptions.c.id))]


def blocking(excs: Sequence[tuple[str, list[tuple[str, str]]]],
              wanted: Iterable[tuple[str, str]]) -> str | None:
    """The first open exception naming any of ``wanted`` (kind, id)."""
    keys = set(wanted)
    return next((exc_id for exc_id, objects in excs if keys & set(objects)), None)
