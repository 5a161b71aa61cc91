"""ERP delivery: which journal entries a period summary carried to the ERP, and each
outbox row's reference at its target (the vendor's document id)

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erp_journal_links",
        sa.Column("entry_id", sa.String(40), primary_key=True),
        sa.Column("summary", sa.String(200), nullable=False),
    )
    op.create_index("ix_erp_journal_links_summary", "erp_journal_links", ["summary"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("reference", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("reference")
    op.drop_index("ix_erp_journal_links_summary", "erp_journal_links")
    op.drop_table("erp_journal_links")
