"""The PSA withdraws time Syncline refused: a ``time.rejected`` for an entry whose
``time.approved`` failed (worked after the worker's termination, after the project closed,
a rate withdrawn …) has nothing recorded to reverse, and waiting for the entry would wait for
ever. It is applied as a withdrawal: the refusal's open exceptions are resolved ("withdrawn by
the PSA") and the rejection is recorded (applied), so the PSA-hours check no longer expects
hours the PSA itself withdrew. A rejection of recorded time (reversed as usual) also resolves
the open exceptions of its approvals: time withdrawn at a termination, for instance."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import exceptions, inbox
from syncline.services.messaging.bulk import driver
from syncline.services.messaging.exceptions import resolve
from syncline.services.messaging.unit_of_work import Batch

__all__ = [
    "open_refusals",
    "refusals_by_entry",
    "refused_approvals",
    "resolve_exceptions",
    "resolve_refusals",
]

# Built once (a time rejection runs both).
_FAILED_TIME = select(inbox.c.id, inbox.c.raw).where(
    (inbox.c.status == "failed") & (inbox.c.type == "time.approved")).order_by(inbox.c.seq)
_OPEN_ON_TIME = (  # (bulk.driver: a time rejection runs it)
    f"SELECT {exceptions.name}.id, {inbox.name}.raw FROM {exceptions.name} JOIN {inbox.name} "
    f"ON {inbox.name}.id = {exceptions.name}.inbox_id WHERE {exceptions.name}.status = 'open' "
    f"AND {inbox.name}.type = 'time.approved' ORDER BY {exceptions.name}.id")


def refused_approvals(b: Batch, entry_id: str) -> list[str]:
    """The ``time.approved`` messages of ``entry_id`` that failed (inbox ids, arrival order;
    read through the inbox's status index: failed messages are few)."""
    return [r.id for r in b.conn.execute(_FAILED_TIME) if _entry_of(r.raw) == entry_id]


def refusals_by_entry(b: Batch) -> dict[str, list[str]]:
    """`refused_approvals` of every entry at once (for a set of rejections): entry id -> the
    failed ``time.approved`` messages' inbox ids, arrival order."""
    return _by_entry(b.conn.execute(_FAILED_TIME))


def resolve_refusals(b: Batch, entry_id: str, reason: str) -> list[str]:
    """Resolve the open exceptions raised on the entry's approvals (a refusal on arrival, or
    a withdrawal after it, e.g. at the worker's termination): the PSA's rejection settles
    them. Their ids. Reads the open exceptions on ``time.approved`` messages (few), never the
    whole inbox."""
    ids = [r.id for r in driver(b.conn, _OPEN_ON_TIME) if _entry_of(r.raw) == entry_id]
    return resolve_exceptions(b, entry_id, ids, reason)


def open_refusals(b: Batch) -> dict[str, list[str]]:
    """The open exceptions on ``time.approved`` messages of every entry at once (for a set of
    rejections): entry id -> exception ids, in `resolve_refusals`' order."""
    return _by_entry(driver(b.conn, _OPEN_ON_TIME))


def resolve_exceptions(b: Batch, entry_id: str, ids: list[str], reason: str) -> list[str]:
    """Resolve the open exceptions ``ids`` of the entry's approvals (withdrawn by the PSA)."""
    for exc_id in ids:
        resolve(b.conn, exc_id, now=b.now, actor="psa", action="withdrawn",
                reason=f"withdrawn by the PSA: time entry {entry_id} rejected ({reason})")
    return ids


def _by_entry(rows: Iterable[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        entry = _entry_of(r.raw)
        if entry is not None:
            out.setdefault(entry, []).append(r.id)
    return out


def _entry_of(raw: str) -> str | None:
    try:
        return str(json.loads(raw)["data"]["time_entry_id"])
    except (ValueError, KeyError, TypeError):
        return None
