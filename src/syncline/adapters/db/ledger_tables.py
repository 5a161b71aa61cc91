"""Tables of the ledger engine's persistence, on the shared metadata (see tables.py).

- ``ledger_periods``: one row per (legal entity, month) whose status was ever set. A month
  without a row is open (nothing has been closed yet), so a new firm posts without first
  opening every month.
- ``ledger_period_changes``: every open / close / lock / reopen, who, in which role and why
  (append-only audit).
- ``journal_line_details``: what ``journal_lines`` does not hold — the functional amount,
  the FX rate with its source and date, and the line's dimensions (JSON) — one row per
  line that has any of them.
- ``journal_entry_metadata``: an entry's metadata (JSON), e.g. ``moved_from_period`` when a
  posting was moved out of a closed period by policy.
- ``report_snapshots``: what a close reported — each report of the period that reads
  operational facts, for the whole firm (scope ``*``) and each entity closed, as typed JSON;
  a new version each time the period is closed again (migration 0010).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from syncline.adapters.db.tables import Dec, metadata

ledger_periods = Table(
    "ledger_periods", metadata,
    Column("entity_code", String(20), primary_key=True),
    Column("period", String(7), primary_key=True),  # YYYY-MM
    Column("status", String(10), nullable=False),  # open | closed | locked
    Column("changed_at", String(40), nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("reason", Text),
)

ledger_period_changes = Table(
    "ledger_period_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity_code", String(20), nullable=False, index=True),
    Column("period", String(7), nullable=False),
    Column("action", String(10), nullable=False),  # open | close | lock | reopen
    Column("from_status", String(10), nullable=False),
    Column("to_status", String(10), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(40), nullable=False),
    Column("reason", Text),
    Column("at", String(40), nullable=False),
)

journal_line_details = Table(
    "journal_line_details", metadata,
    Column("entry_id", String(40), ForeignKey("journal_entries.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("functional_amount", Dec),
    Column("functional_currency", String(3)),
    Column("fx_rate", Dec),
    Column("fx_source", String(200)),
    Column("fx_date", String(10)),
    Column("dimensions", Text),  # JSON [[name, value], ...]
)

journal_entry_metadata = Table(
    "journal_entry_metadata", metadata,
    Column("entry_id", String(40), ForeignKey("journal_entries.id"), primary_key=True),
    Column("metadata", Text, nullable=False),  # JSON [[key, value], ...]
)

report_snapshots = Table(
    "report_snapshots", metadata,
    Column("period", String(7), primary_key=True),  # YYYY-MM
    Column("scope", String(20), primary_key=True),  # an entity code, or "*" (every entity)
    Column("report", String(40), primary_key=True),  # a report name of the registry
    Column("version", Integer, primary_key=True),  # 1, 2 … (a close after a reopen)
    Column("taken_at", String(40), nullable=False),
    Column("content", Text, nullable=False),  # JSON: the Report, Decimal cells as {"d": …}
)

__all__ = [
    "journal_entry_metadata",
    "journal_line_details",
    "ledger_period_changes",
    "ledger_periods",
    "metadata",
    "report_snapshots",
]
