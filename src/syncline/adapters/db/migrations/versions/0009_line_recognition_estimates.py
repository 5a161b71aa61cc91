"""revenue: the recognition method a deal states per line, and revisions of a line's
estimate at completion (estimate.revised)

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from syncline.adapters.db.tables import Dec

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "line_recognition",
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("line_id", sa.String(100), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("inbox_id", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("contract_number", "line_id", name=op.f("pk_line_recognition")),
    )
    op.create_table(
        "revenue_estimates",
        sa.Column("estimate_id", sa.String(200), nullable=False),
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("line_id", sa.String(100), nullable=False),
        sa.Column("basis", sa.String(10), nullable=False),
        sa.Column("effective_date", sa.String(10), nullable=False),
        sa.Column("total", Dec(length=40), nullable=False),
        sa.Column("uninstalled_materials", Dec(length=40)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("inbox_id", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("estimate_id", name=op.f("pk_revenue_estimates")),
    )
    op.create_index("ix_revenue_estimates_contract_number", "revenue_estimates",
                    ["contract_number"])


def downgrade() -> None:
    op.drop_index("ix_revenue_estimates_contract_number", table_name="revenue_estimates")
    op.drop_table("revenue_estimates")
    op.drop_table("line_recognition")
