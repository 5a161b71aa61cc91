"""Exceptions assigned to a person; milestones keep their evidence documents

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exceptions") as table:
        table.add_column(sa.Column("assigned_to", sa.String(200)))
        table.add_column(sa.Column("assigned_at", sa.String(40)))
    op.create_index("ix_exceptions_assigned_to", "exceptions", ["assigned_to"])
    with op.batch_alter_table("milestones") as table:
        table.add_column(sa.Column("evidence", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("milestones") as table:
        table.drop_column("evidence")
    op.drop_index("ix_exceptions_assigned_to", "exceptions")
    with op.batch_alter_table("exceptions") as table:
        table.drop_column("assigned_at")
        table.drop_column("assigned_to")
