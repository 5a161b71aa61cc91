"""Tables the close reads by period, on the shared metadata (see tables.py; migration 0020
``psa_time_words``).

- ``psa_time_words``: what each ``time.approved`` / ``time.rejected`` message handed to the
  time handler says, one row per inbox message (``inbox_id``; an edited message replayed
  replaces its row): the time entry, ``kind`` (approved | rejected) and, for an approval, the
  work date, project and hours as the PSA sent them (hours as text: a value that does not
  parse is kept and counted as zero by the reconciliation). Indexed by work date, so the close
  reads a period's words without decoding the whole inbox, and by time entry, so it finds every
  word on the period's entries (a correction that moved an entry to another month). The
  message's status (applied, parked, failed …) is read live from the inbox, never copied here.
  Written by ``services/handlers/time.py``; a rebuild replays the inbox through that handler,
  so the table is derived from the inbox like every other (docs/adr/0004).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from syncline.adapters.db.tables import metadata

psa_time_words = Table(
    "psa_time_words", metadata,
    Column("inbox_id", String(40), primary_key=True),
    Column("time_entry_id", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # approved | rejected
    Column("work_date", String(10)),
    Column("project_code", String(100)),
    Column("hours", String(40)),
)
Index("ix_psa_time_words_work_date", psa_time_words.c.work_date)
Index("ix_psa_time_words_time_entry_id", psa_time_words.c.time_entry_id)
