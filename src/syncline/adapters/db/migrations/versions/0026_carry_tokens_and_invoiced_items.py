"""Tokens of carries and labor cost months; billable items by invoice

- ``ledger_carries.token`` and ``labor_cost_cached.token``: a random value given to a carry
  (services/ledger/carried.py) or a month's cost cells (labor_cost_months.py) when stored. A
  process keeps the rows it stored or read under the token (services/ledger/kept.py) and
  reads them again only when the row has another token: neither changes while it exists (a
  carry is deleted by the triggers of migration 0022 when its books change; a month's cells
  are stored again, as a new row, when its version moves), and one made again, or stored by a
  transaction rolled back, gets a new random token. Rows stored before this migration have
  none and are read from their tables each time.
- A partial index on ``billable_items.invoice_number``: the reconciliation's invoiced-items
  check reads the items of the period's invoices; without it each read scanned every item of
  the history. Items not invoiced (no number) are not in it: generating one costs nothing
  more; invoicing one writes its entry.

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("ledger_carries", "labor_cost_cached")
_WHERE = sa.text("invoice_number IS NOT NULL")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("token", sa.String(32), nullable=True))
    op.create_index("ix_billable_items_invoice_number", "billable_items", ["invoice_number"],
                    sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade() -> None:
    op.drop_index("ix_billable_items_invoice_number", table_name="billable_items")
    for table in TABLES:  # ALTER TABLE … DROP COLUMN (SQLite 3.35): triggers name the tables
        op.drop_column(table, "token")
