"""billing: a retainer's kind (monthly, or a prepaid block of hours) and, billed in advance,
its convention (the run of M bills M+1, or the month itself on its 1st)

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contract_billing_terms") as batch:
        batch.add_column(sa.Column("retainer_kind", sa.String(20), nullable=True))
        batch.add_column(sa.Column("advance_convention", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contract_billing_terms") as batch:
        batch.drop_column("advance_convention")
        batch.drop_column("retainer_kind")
