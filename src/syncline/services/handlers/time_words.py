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
    place. Each value is its text (``str``) cut to its column (time entry 200, work date 10,
    project 100, hours 40); a string, as nearly every value is, is taken as it is."""
    try:
        entry = data["time_entry_id"]
        work_date = data["work_date"] if kind == APPROVED else None
    except (KeyError, TypeError):
        return None
    entry = (entry if type(entry) is str else str(entry))[:200]
    if kind != APPROVED:
        return (inbox_id, entry, kind, None, None, None)
    project, hours = data.get("project_code"), data.get("hours")
    return (inbox_id, entry, kind,
            (work_date if type(work_date) is str else str(work_date))[:10],
            None if project is None else (project if type(project) is str
                                          else str(project))[:100],
            None if hours is None else (hours if type(hours) is str else str(hours))[:40])


def record_words(conn: Connection, kind: str,
                 messages: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """Keep (or replace) the word of each ``(inbox id, data)`` message."""
    rows = [r for r in (word(i, kind, d) for i, d in messages) if r is not None]
    upsert_rows(conn, psa_time_words.name, _COLUMNS, "inbox_id", rows)
