"""The PSA's word on each time entry, kept as the time handler sees each message (one row per
inbox message in ``psa_time_words``): what the close reconciles a period's approved hours
against (``services/ledger/reconciliation/hours.py``) without decoding the whole inbox.

A message the handler sees again (a parked one released, an edited one replayed) replaces its
row. The message's status is not copied: the reconciliation reads it live from the inbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection

from syncline.adapters.db.close_tables import psa_time_words
from syncline.services.messaging.bulk import upsert_rows

APPROVED, REJECTED = "approved", "rejected"


_COLUMNS = ("inbox_id", "time_entry_id", "kind", "work_date", "project_code", "hours")


def word(inbox_id: str, kind: str, data: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The row for one message (in ``_COLUMNS`` order), or None when it names no time entry
    (or, for an approval, no work date): such a message says nothing the reconciliation can
    place."""
    try:
        entry = str(data["time_entry_id"])
        work_date = str(data["work_date"]) if kind == APPROVED else None
    except (KeyError, TypeError):
        return None
    project, hours = (data.get("project_code"), data.get("hours")) if kind == APPROVED else (
        None, None)
    return (inbox_id, entry[:200], kind, work_date[:10] if work_date is not None else None,
            None if project is None else str(project)[:100],
            None if hours is None else str(hours)[:40])


def record_words(conn: Connection, kind: str,
                 messages: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """Keep (or replace) the word of each ``(inbox id, data)`` message."""
    made = _approved if kind == APPROVED else lambda i, d: word(i, kind, d)
    rows = [r for r in (made(i, d) for i, d in messages) if r is not None]
    upsert_rows(conn, psa_time_words.name, _COLUMNS, "inbox_id", rows)


def _approved(inbox_id: str, data: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """`word` of an approval where its fields are text, as they nearly always are; else
    `word` itself."""
    entry, work_date = data.get("time_entry_id"), data.get("work_date")
    project, hours = data.get("project_code"), data.get("hours")
    if (type(entry) is not str or type(work_date) is not str
            or (project is not None and type(project) is not str)
            or (hours is not None and type(hours) is not str)):
        return word(inbox_id, APPROVED, data)
    return (inbox_id, entry[:200], APPROVED, work_date[:10],
            None if project is None else project[:100], None if hours is None else hours[:40])
