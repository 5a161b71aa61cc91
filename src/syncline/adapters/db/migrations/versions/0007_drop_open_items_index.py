"""drop ix_billable_items_open: the invoice run scans items once (not by this index) and
moving a million items to invoiced spent half its time deleting their entries from it;
per-contract look-ups use ix_billable_items_contract_number

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_billable_items_open", table_name="billable_items")


def downgrade() -> None:
    op.create_index("ix_billable_items_open", "billable_items",
                    ["contract_number", "service_date"], unique=False,
                    sqlite_where=sa.text("status IN ('generated', 'released')"),
                    postgresql_where=sa.text("status IN ('generated', 'released')"))
