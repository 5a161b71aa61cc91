"""drop invoice_sequences: invoice numbers come from number_series (per entity and series)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("invoice_sequences")


def downgrade() -> None:
    op.create_table(
        "invoice_sequences",
        sa.Column("entity_code", sa.String(20), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity_code", name=op.f("pk_invoice_sequences")),
    )
