"""revenue engine: contract amendments and persisted schedules

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contract_lines") as batch:
        batch.add_column(sa.Column("estimated_cost", sa.String(40), nullable=True))
    op.create_table(
        "contract_amendments",
        sa.Column("amendment_id", sa.String(200), nullable=False),
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("effective_date", sa.String(10), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("inbox_id", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("amendment_id", name=op.f("pk_contract_amendments")),
    )
    op.create_index("ix_contract_amendments_contract_number", "contract_amendments",
                    ["contract_number"])
    op.create_table(
        "revenue_schedules",
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("obligation_id", sa.String(200), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("revenue", sa.String(40), nullable=False),
        sa.Column("cumulative", sa.String(40), nullable=False),
        sa.Column("allocated", sa.String(40), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("contract_number", "obligation_id", "period",
                                name=op.f("pk_revenue_schedules")),
    )
    op.create_index("ix_revenue_schedules_period", "revenue_schedules", ["period"])


def downgrade() -> None:
    op.drop_index("ix_revenue_schedules_period", table_name="revenue_schedules")
    op.drop_table("revenue_schedules")
    op.drop_index("ix_contract_amendments_contract_number", table_name="contract_amendments")
    op.drop_table("contract_amendments")
    with op.batch_alter_table("contract_lines") as batch:
        batch.drop_column("estimated_cost")
