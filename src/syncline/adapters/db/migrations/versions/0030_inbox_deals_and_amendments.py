"""The KPIs' deal and amendment messages by their own partial indexes

- ``ix_inbox_deal_closed`` on ``inbox (subject, seq)``, partial (``WHERE type =
  'deal.closed_won'``): the project setup cycle KPI looks up when each deal of the projects
  that went active in the month closed; it read every applied message of the history (the
  status index, then each row for its type) to find the few deal messages.
- ``ix_inbox_amendments`` on ``inbox.received_at``, partial (``WHERE type =
  'contract.amended'``): the amendments awaiting propagation at a month's end are the
  amendments received by then; read the same way before.

Only deal and amendment messages enter them (a message of any other type writes no entry),
so ingesting time and expenses costs nothing more. The queries name the type as a literal:
a partial index is used only when the query's condition is its own.

Revision ID: 0030
Revises: 0029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEALS = sa.text("type = 'deal.closed_won'")
_AMENDMENTS = sa.text("type = 'contract.amended'")


def upgrade() -> None:
    op.create_index("ix_inbox_deal_closed", "inbox", ["subject", "seq"],
                    sqlite_where=_DEALS, postgresql_where=_DEALS)
    op.create_index("ix_inbox_amendments", "inbox", ["received_at"],
                    sqlite_where=_AMENDMENTS, postgresql_where=_AMENDMENTS)


def downgrade() -> None:
    op.drop_index("ix_inbox_amendments", table_name="inbox")
    op.drop_index("ix_inbox_deal_closed", table_name="inbox")
