"""What a close reported: a closed month's reports, stored when the month closes and read back
"as reported at close" (docs/ledger.md, "Closed periods do not change").

A snapshot is one report of one period for one scope — an entity code, or ``*`` for the whole
firm — stored as typed JSON (an amount cell keeps its exact ``Decimal``), so the report read
back is equal to the one built at the close and renders to the same bytes in every format.
Closing a period again after a reopen stores a new version; the latest is read.

Only the reports that read operational facts are stored (``SNAPSHOT_REPORTS``): RPO, unbilled
aging, margin and the close reconciliation. The trial balance, the revenue waterfall and the
deferred revenue roll-forward are built from journal entries dated up to the period end, and
a closed period accepts no entry (refused, or moved to the next open period): built again,
they are what the close saw.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from syncline.adapters.db.ledger_tables import report_snapshots
from syncline.ledger.periods import PeriodStatus
from syncline.ledger.reports import Cell, Table
from syncline.services.clock import iso
from syncline.services.ledger.held import held
from syncline.services.ledger.periods import status_of, statuses
from syncline.services.ledger.reports.common import Report

SNAPSHOT_REPORTS: tuple[str, ...] = ("rpo", "unbilled-aging", "margin", "close-reconciliation")
ALL = "*"  # the scope of a report for every entity
CLOSED = (PeriodStatus.CLOSED, PeriodStatus.LOCKED)


def scope_of(entity: str | None) -> str:
    return entity or ALL


def _cell(c: Cell) -> Any:
    return {"d": format(c, "f")} if isinstance(c, Decimal) else c


def _uncell(c: Any) -> Cell:
    return Decimal(c["d"]) if isinstance(c, dict) else str(c)


def encode(report: Report) -> str:
    return json.dumps({"report": report.name, "period": report.period, "entity": report.entity,
                       "notes": list(report.notes),
                       "tables": [{"title": t.title, "columns": list(t.columns),
                                   "rows": [[_cell(c) for c in row] for row in t.rows]}
                                  for t in report.tables]}, sort_keys=True)


def decode(text: str) -> Report:
    data = json.loads(text)
    return Report(data["report"], data["period"], data["entity"], tuple(
        Table(t["title"], tuple(t["columns"]),
              tuple(tuple(_uncell(c) for c in row) for row in t["rows"]))
        for t in data["tables"]), tuple(data["notes"]))


def store(conn: Connection, report: Report, *, now: datetime) -> int:
    """Store ``report`` as its period's and scope's next version; returns the version."""
    scope = scope_of(report.entity)
    last = conn.execute(select(func.max(report_snapshots.c.version)).where(
        (report_snapshots.c.period == report.period) & (report_snapshots.c.scope == scope)
        & (report_snapshots.c.report == report.name))).scalar()
    version = int(last or 0) + 1
    conn.execute(report_snapshots.insert().values(
        period=report.period, scope=scope, report=report.name, version=version,
        taken_at=iso(now), content=encode(report)))
    return version


def latest(conn: Connection, name: str, period: str, entity: str | None) -> Report | None:
    """The report as the period's latest close recorded it, or None."""
    row = conn.execute(select(report_snapshots.c.content).where(
        (report_snapshots.c.period == period) & (report_snapshots.c.scope == scope_of(entity))
        & (report_snapshots.c.report == name))
        .order_by(report_snapshots.c.version.desc()).limit(1)).first()
    return decode(row.content) if row else None


def is_closed(conn: Connection, period: str, entities: Iterable[str]) -> bool:
    """Whether ``period`` is closed or locked for every one of ``entities`` (and there is at
    least one)."""
    found = [status_of(conn, e, period) for e in entities]
    return bool(found) and all(s in CLOSED for s in found)


def reported(conn: Connection, name: str, period: str, entity: str | None,
             entities: Iterable[str]) -> Report | None:
    """The report as reported at the period's close: only while the period is closed or
    locked (for ``entity``, or for every one of ``entities`` when no entity is given) — a
    reopened period is being changed, and its next close records it again."""
    if name not in SNAPSHOT_REPORTS:
        return None
    if not is_closed(conn, period, [entity] if entity else entities):
        return None
    return latest(conn, name, period, entity)


def reported_before(conn: Connection, name: str, period: str
                    ) -> dict[tuple[str, str], tuple[dict[str, Cell], ...]]:
    """The first table's rows (as ``Table.as_dicts``) of the latest recorded ``name`` of every
    entity's closed month before ``period``, by (month, entity): what was reported for those
    months (late changes since are measured against it). Read once for every scope of a close
    step (``held``); each stored text decoded once per process (``first_rows``)."""
    return held(conn, ("reported_before", name, period),
                lambda: _reported_before(conn, name, period))


def _reported_before(conn: Connection, name: str, period: str
                     ) -> dict[tuple[str, str], tuple[dict[str, Cell], ...]]:
    known = statuses(conn)
    rows = conn.execute(select(report_snapshots.c.period, report_snapshots.c.scope,
                               report_snapshots.c.version, report_snapshots.c.content).where(
        (report_snapshots.c.report == name) & (report_snapshots.c.period < period)
        & (report_snapshots.c.scope != ALL))
        .order_by(report_snapshots.c.period, report_snapshots.c.scope,
                  report_snapshots.c.version)).all()
    latest_of = {(r.period, r.scope): r.content for r in rows}
    return {key: first_rows(text) for key, text in latest_of.items()
            if known.get((key[1], key[0]), PeriodStatus.OPEN) in CLOSED}


_DECODED_KEPT = 256  # stored texts whose first table this process keeps decoded
_decoded: OrderedDict[bytes, tuple[dict[str, Cell], ...]] = OrderedDict()
_decoded_lock = threading.Lock()


def first_rows(text: str) -> tuple[dict[str, Cell], ...]:
    """``decode(text).tables[0].as_dicts()``, kept by this process under the text's digest:
    a stored snapshot never changes, and the same text decodes to the same rows, so each
    close reads the earlier months' texts but decodes only those it has not seen (the
    margin's late cost read every earlier margin whole before, ADR 0021). Shared read-only
    values: callers must not change them."""
    digest = hashlib.sha256(text.encode()).digest()
    with _decoded_lock:
        found = _decoded.get(digest)
        if found is not None:
            _decoded.move_to_end(digest)
            return found
    found = tuple(decode(text).tables[0].as_dicts())
    with _decoded_lock:
        _decoded[digest] = found
        while len(_decoded) > _DECODED_KEPT:
            _decoded.popitem(last=False)
    return found
