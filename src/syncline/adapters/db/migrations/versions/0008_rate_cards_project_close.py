"""rate cards (rate_card.published: every version kept, with its entries per role) and the
project close (project.closed: closed_on and reason on projects)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from syncline.adapters.db.tables import Dec

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_cards",
        sa.Column("card_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("scope_key", sa.String(200)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("effective_from", sa.String(10), nullable=False),
        sa.Column("effective_to", sa.String(10)),
        sa.Column("increment_hours", Dec(length=40), nullable=False),
        sa.Column("rounding", sa.String(10), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("inbox_id", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("card_id", "version", name=op.f("pk_rate_cards")),
    )
    op.create_table(
        "rate_card_entries",
        sa.Column("card_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("rate", Dec(length=40), nullable=False),
        sa.PrimaryKeyConstraint("card_id", "version", "role", name=op.f("pk_rate_card_entries")),
    )
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("closed_on", sa.String(10)))
        batch.add_column(sa.Column("close_reason", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("close_reason")
        batch.drop_column("closed_on")
    op.drop_table("rate_card_entries")
    op.drop_table("rate_cards")
