"""Tables the close reads by period, on the shared metadata (see tables.py; migration 0020
``psa_time_words``, migration 0021 the labor cost by month).

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

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from syncline.adapters.db.tables import Dec, metadata

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

# --- labor cost by month (migration 0021, docs/adr/0010) -------------------------------------
# Change counters that database triggers raise in the transaction of every update or delete
# that can change a month's labor cost (migrations 0021, 0023; an insert is counted instead:
# a month's version is its count of time entries plus its counters). ``labor_cost_marks``:
# one per (month, time entry row) — a time entry updated in a column the cost reads raises its
# old month's by 2 and its new month's by 1, a deleted one its month's by 2; a counter per
# row, so concurrent writers lock exactly the rows they already hold in ``time_entries`` (no
# new lock waits between PostgreSQL workers).
# ``labor_cost_rate_marks``: one per (worker, month of an effective date) — a worker version
# inserted, updated or deleted raises it, and with it the version of every month from then
# on. Never lowered, never deleted: a month's version only grows.
labor_cost_marks = Table(
    "labor_cost_marks", metadata,
    Column("month", String(7), primary_key=True),
    Column("entry_row", String(40), primary_key=True),  # time_entries.id
    Column("version", BigInteger, nullable=False),
)
labor_cost_rate_marks = Table(
    "labor_cost_rate_marks", metadata,
    Column("worker_id", String(200), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

# ``labor_cost_cached``: the month's version its cost cells were computed at; the cells are
# current exactly while it equals the month's version (a derived cache: deleting both tables'
# rows loses nothing).
labor_cost_cached = Table(
    "labor_cost_cached", metadata,
    Column("month", String(7), primary_key=True),
    Column("version", BigInteger, nullable=False),
    # random, given when stored: a process keeps the month's cells with it (migration 0026)
    Column("token", String(32)),
)

# ``labor_cost_cells``: the month's approved time costed at the HR rate on each work date,
# summed per project and cost rate's entity and currency (``rated`` false: no rate effective,
# entity and currency empty, cost zero) — exact sums, never rounded.
labor_cost_cells = Table(
    "labor_cost_cells", metadata,
    Column("month", String(7), primary_key=True),
    Column("project_code", String(100), primary_key=True),
    Column("rated", Boolean, primary_key=True),
    Column("cost_entity", String(20), primary_key=True),
    Column("cost_currency", String(3), primary_key=True),
    Column("cost", Dec, nullable=False),
    Column("hours", Dec, nullable=False),
    Column("entries", Integer, nullable=False),
)

# --- carried balances (migration 0022, docs/adr/0014) ----------------------------------------
# ``ledger_carries``: a locked month of an entity whose books are carried — every month of the
# entity from its first entry through it locked — with the receivable account the carry was
# keyed by (the AR check's; a carry made under another chart is not read). Triggers (migration
# 0022) delete an entity's carries from the month of any journal row written, changed or
# deleted on or before them, whoever writes; the close carries the months again.
ledger_carries = Table(
    "ledger_carries", metadata,
    Column("entity_code", String(20), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("receivable_account", String(40), nullable=False),
    Column("entries", Integer, nullable=False),  # journal entries carried, through the month
    # random, given when stored: a process keeps a carry's rows with it (migration 0026)
    Column("token", String(32)),
)

# ``ledger_carried_balances``: the carried sums (``syncline.ledger.carried``), one row per key.
ledger_carried_balances = Table(
    "ledger_carried_balances", metadata,
    Column("entity_code", String(20), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("row_no", Integer, primary_key=True),
    Column("source_type", String(40), nullable=False),
    Column("account", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("functional_currency", String(3), nullable=False),
    Column("revalues", String(40), nullable=False),
    Column("counterparty", String(40), nullable=False),
    Column("charge", Text, nullable=False),
    Column("contract", String(100), nullable=False),
    Column("document", String(100), nullable=False),
    Column("entry", Text, nullable=False),
    Column("amount", Dec, nullable=False),
    Column("functional", Dec, nullable=False),
    Column("first_currency", String(3), nullable=False),
    Column("note", Text, nullable=False),
)
