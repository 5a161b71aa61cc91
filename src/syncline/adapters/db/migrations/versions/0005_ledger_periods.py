"""ledger: periods, their audited changes, and line details (functional amount, FX, dimensions)

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_periods",
        sa.Column("entity_code", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("changed_at", sa.String(length=40), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("entity_code", "period", name=op.f("pk_ledger_periods")),
    )
    op.create_table(
        "ledger_period_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_code", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("from_status", sa.String(length=10), nullable=False),
        sa.Column("to_status", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_period_changes")),
    )
    op.create_index(op.f("ix_ledger_period_changes_entity_code"), "ledger_period_changes",
                    ["entity_code"], unique=False)
    op.create_table(
        "journal_line_details",
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("functional_amount", sa.String(length=40), nullable=True),
        sa.Column("functional_currency", sa.String(length=3), nullable=True),
        sa.Column("fx_rate", sa.String(length=40), nullable=True),
        sa.Column("fx_source", sa.String(length=200), nullable=True),
        sa.Column("fx_date", sa.String(length=10), nullable=True),
        sa.Column("dimensions", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"],
                                name=op.f("fk_journal_line_details_entry_id_journal_entries")),
        sa.PrimaryKeyConstraint("entry_id", "line_no", name=op.f("pk_journal_line_details")),
    )
    op.create_table(
        "journal_entry_metadata",
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"],
                                name=op.f("fk_journal_entry_metadata_entry_id_journal_entries")),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_journal_entry_metadata")),
    )


def downgrade() -> None:
    op.drop_table("journal_entry_metadata")
    op.drop_table("journal_line_details")
    op.drop_index(op.f("ix_ledger_period_changes_entity_code"),
                  table_name="ledger_period_changes")
    op.drop_table("ledger_period_changes")
    op.drop_table("ledger_periods")
