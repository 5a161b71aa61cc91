"""ledger: what each close reported (report_snapshots), so a closed month's reports are read
as reported at its close

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_snapshots",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("report", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.String(length=40), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("period", "scope", "report", "version",
                                name=op.f("pk_report_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("report_snapshots")
