"""Billable items: a partial index on ``origin`` (only split parts have one)

Reversing a time entry or an expense (``services/billing/reversal.py``) looks its items up by
key or by origin; without this index each reversal read the whole table. Items without an
origin (nearly all) are not in the index, so inserting them costs nothing more.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = sa.text("origin IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_billable_items_origin", "billable_items", ["origin"],
                    sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade() -> None:
    op.drop_index("ix_billable_items_origin", table_name="billable_items")
