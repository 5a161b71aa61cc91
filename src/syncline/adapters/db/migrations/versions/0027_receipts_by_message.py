"""Delivery receipts by message

An index on ``inbox_receipts.inbox_id``. A message's status and outcome
(``GET /v1/events/{source}/{id}``, a ``POST /v1/events?wait=`` answer, the console) count its
deliveries; with no index each count read every receipt of the history: about 200 ms a
message at two million receipts (a year of a 2,000-consultant firm's time entries), so a
waited-for batch of 500 took minutes to answer. With it, a look-up is an index search
(0.01 ms there). Each receipt written adds one index entry; message ids grow in time, so the
entries are appended at the index's end.

Revision ID: 0027
Revises: 0026
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_inbox_receipts_inbox_id", "inbox_receipts", ["inbox_id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_receipts_inbox_id", table_name="inbox_receipts")
