"""billing: payments received against invoices (cash application, realized FX)

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from syncline.adapters.db.tables import Dec

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String(200), primary_key=True),
        sa.Column("invoice_number", sa.String(60), nullable=False),
        sa.Column("entity_code", sa.String(20), nullable=False),
        sa.Column("received_on", sa.String(10), nullable=False),
        sa.Column("amount", Dec(length=40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference", sa.Text),
        sa.Column("inbox_id", sa.String(40), nullable=False),
    )
    op.create_index("ix_payments_invoice_number", "payments", ["invoice_number"])


def downgrade() -> None:
    op.drop_index("ix_payments_invoice_number", "payments")
    op.drop_table("payments")
