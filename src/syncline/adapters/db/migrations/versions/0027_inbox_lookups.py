"""Inbox look-ups by message and by month

- ``inbox_receipts.inbox_id``: a message's status and outcome (``GET
  /v1/events/{source}/{id}``, a ``POST /v1/events?wait=`` answer, the console) count its
  deliveries; with no index each count read every receipt of the history: about 200 ms a
  message at two million receipts (a year of a 2,000-consultant firm's time entries), so a
  waited-for batch of 500 took minutes to answer. With it, a look-up is an index search
  (0.01 ms there).
- ``inbox.received_at``: the straight-through KPI counts the messages received in a month;
  with no index it read every message of the history (raw text included) each time the KPIs
  were computed — by ``/v1/kpis``, the console and every ``/metrics`` scrape past its cache.

Each receipt and message written adds one entry to each; message ids and arrival times grow
in time, so the entries are appended at the indexes' ends.

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
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_received_at", table_name="inbox")
    op.drop_index("ix_inbox_receipts_inbox_id", table_name="inbox_receipts")
