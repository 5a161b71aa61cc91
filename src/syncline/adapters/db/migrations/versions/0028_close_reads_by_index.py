"""Indexes that bound the close's reads by the period, not the history

- ``ix_billable_items_uninvoiced`` on ``billable_items.service_date``, partial
  (``WHERE invoice_number IS NULL``): the unbilled items at a period end (the reconciliation's
  unbilled subledger and the aging report, services/ledger/reports/aging.py) were found by
  scanning every item served up to it — nearly the whole history, invoiced. The items never
  invoiced are read by this index; the items invoiced on an invoice dated after the period
  end by the invoices' date and 0026's index on ``invoice_number``. An item enters it when
  generated and leaves it when invoiced (one index write each).
- ``ix_journal_entries_entity_date`` on ``journal_entries (entity_code, posting_date)``: the
  books after an entity's carried month (services/ledger/carried.py), an entity's first
  posting date, the entities with entries (a skip from one code to the next) and the ERP
  summaries of an entity's month read a range of it instead of every entry.

Revision ID: 0028
Revises: 0027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = sa.text("invoice_number IS NULL")


def upgrade() -> None:
    op.create_index("ix_billable_items_uninvoiced", "billable_items", ["service_date"],
                    sqlite_where=_WHERE, postgresql_where=_WHERE)
    op.create_index("ix_journal_entries_entity_date", "journal_entries",
                    ["entity_code", "posting_date"])


def downgrade() -> None:
    op.drop_index("ix_journal_entries_entity_date", table_name="journal_entries")
    op.drop_index("ix_billable_items_uninvoiced", table_name="billable_items")
