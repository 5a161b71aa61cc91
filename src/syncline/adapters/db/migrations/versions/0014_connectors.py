"""connectors: incremental cursors per stream, and every webhook delivery kept raw

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connector_cursors",
        sa.Column("connector", sa.String(40), primary_key=True),
        sa.Column("stream", sa.String(60), primary_key=True),
        sa.Column("value", sa.Text),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("last_run_at", sa.String(40)),
        sa.Column("last_status", sa.String(20)),
        sa.Column("last_error", sa.Text),
        sa.Column("records_total", sa.Integer, nullable=False),
    )
    op.create_table(
        "connector_webhooks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
    )
    op.create_index("ix_connector_webhooks_connector", "connector_webhooks",
                    ["connector", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_connector_webhooks_connector", "connector_webhooks")
    op.drop_table("connector_webhooks")
    op.drop_table("connector_cursors")
