"""Tables of the revenue engine: contract amendments (the baseline is kept) and schedules."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from syncline.adapters.db.tables import Dec, metadata

contract_amendments = Table(
    "contract_amendments", metadata,
    Column("amendment_id", String(200), primary_key=True),
    Column("contract_number", String(100), nullable=False, index=True),
    Column("effective_date", String(10), nullable=False),
    Column("payload", Text, nullable=False),  # the amendment's data, as received
    Column("inbox_id", String(40), nullable=False),
    Column("recorded_at", String(40), nullable=False),
)

revenue_schedules = Table(
    "revenue_schedules", metadata,
    Column("contract_number", String(100), primary_key=True),
    Column("obligation_id", String(200), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("revenue", Dec, nullable=False),
    Column("cumulative", Dec, nullable=False),
    Column("allocated", Dec, nullable=False),
    Column("method", String(40), nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("version", Integer, nullable=False),  # the contract version computed from
)
Index("ix_revenue_schedules_period", revenue_schedules.c.period)

# How each contract line is recognised when the deal (or the amendment adding it) states it
# (migration 0009); a line with no row keeps the default method of its billing kind.
line_recognition = Table(
    "line_recognition", metadata,
    Column("contract_number", String(100), primary_key=True),
    Column("line_id", String(100), primary_key=True),
    Column("method", String(40), nullable=False),  # hours | cost_to_cost | milestones | ...
    Column("inbox_id", String(40), nullable=False),
)

# Revisions of a line's estimate at completion (estimate.revised, migration 0009): effective
# dated, every revision kept; the estimate in force on a date is the latest effective by it.
revenue_estimates = Table(
    "revenue_estimates", metadata,
    Column("estimate_id", String(200), primary_key=True),
    Column("contract_number", String(100), nullable=False, index=True),
    Column("line_id", String(100), nullable=False),
    Column("basis", String(10), nullable=False),  # hours | cost
    Column("effective_date", String(10), nullable=False),
    Column("total", Dec, nullable=False),
    Column("uninstalled_materials", Dec),
    Column("reason", Text, nullable=False),
    Column("inbox_id", String(40), nullable=False),
    Column("recorded_at", String(40), nullable=False),
)

# --- billable to date, carried (migration 0024, docs/adr/0016) -------------------------------
# ``revenue_billable_carries``: a month of a contract whose counted time and expense items are
# summed in ``revenue_billable_sums`` (a contract's carried months run without a gap from its
# first counted item on). Triggers (migration 0024) delete a contract's carried months from
# the service month of any billable item inserted, changed or deleted on or before them, and
# all of them on any change to its billing holds, whoever writes; recognition carries them again.
revenue_billable_carries = Table(
    "revenue_billable_carries", metadata,
    Column("contract_number", String(100), primary_key=True),
    Column("period", String(7), primary_key=True),
)

# ``revenue_billable_sums``: the month's counted, unheld time and expense items of the
# contract, summed exactly per source, stated line ('' for none) and currency.
revenue_billable_sums = Table(
    "revenue_billable_sums", metadata,
    Column("contract_number", String(100), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("source", String(20), primary_key=True),
    Column("line_id", String(100), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("amount", Dec, nullable=False),
)

# ``revenue_recognition_carries``: what recognition needs of a contract's billing and journal
# through a month (``period``, locked for its entity when carried): ``billed`` is its net billed
# amount through the month's end (invoices plus credit notes, net of tax). One row per contract
# (the latest). Triggers (migration 0029) delete every carry from the month of any invoice,
# credit note or journal row written, changed or deleted on or before it, whoever writes.
revenue_recognition_carries = Table(
    "revenue_recognition_carries", metadata,
    Column("contract_number", String(100), primary_key=True),
    Column("period", String(7), nullable=False),
    Column("billed", Dec, nullable=False),
)
Index("ix_revenue_recognition_carries_period", revenue_recognition_carries.c.period)

# ``revenue_carried_lines``: the carry's journal lines summed per kind (``revenue``: the
# entries whose source id is the contract's ``revenue:<contract>:``; ``billed``: its invoices'
# and credit notes' entries), source type and account — debit positive, the functional amount
# where a line has one and its own amount where not (docs/adr/0022).
revenue_carried_lines = Table(
    "revenue_carried_lines", metadata,
    Column("contract_number", String(100), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("source_type", String(40), primary_key=True),
    Column("account", String(40), primary_key=True),
    Column("period", String(7), nullable=False),
    Column("amount", Dec, nullable=False),
    Column("functional_amount", Dec, nullable=False),
)
Index("ix_revenue_carried_lines_period", revenue_carried_lines.c.period)
