"""PSA time words: what each time.approved / time.rejected message says, indexed by work date
and time entry, so the close reconciles a period without decoding the whole inbox (ADR 0004)

Also an index on billable items by (source, service date): the close's hours checks read
the period's time items.

Backfilled from the inbox messages already handled (every status but ``received``, which the
processor has not handed to the time handler yet and will).

Revision ID: 0020
Revises: 0019
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _word(inbox_id: str, kind: str, raw: str) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)["data"]
        entry = str(data["time_entry_id"])
        if kind == "approved":
            work_date, project, hours = (str(data["work_date"]), data.get("project_code"),
                                         data.get("hours"))
        else:
            work_date = project = hours = None
    except (ValueError, KeyError, TypeError):
        return None
    return {"inbox_id": inbox_id, "time_entry_id": entry[:200], "kind": kind,
            "work_date": work_date[:10] if work_date else None,
            "project_code": None if project is None else str(project)[:100],
            "hours": None if hours is None else str(hours)[:40]}


def upgrade() -> None:
    words = op.create_table(
        "psa_time_words",
        sa.Column("inbox_id", sa.String(40), nullable=False),
        sa.Column("time_entry_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("work_date", sa.String(10)),
        sa.Column("project_code", sa.String(100)),
        sa.Column("hours", sa.String(40)),
        sa.PrimaryKeyConstraint("inbox_id", name="pk_psa_time_words"),
    )
    op.create_index("ix_psa_time_words_work_date", "psa_time_words", ["work_date"])
    op.create_index("ix_psa_time_words_time_entry_id", "psa_time_words", ["time_entry_id"])
    op.create_index("ix_billable_items_source_service_date", "billable_items",
                    ["source", "service_date"])
    conn = op.get_bind()
    found = conn.execute(sa.text(
        "SELECT id, type, raw FROM inbox WHERE type IN ('time.approved', 'time.rejected') "
        "AND status <> 'received'"))
    batch: list[dict[str, Any]] = []
    for r in found:
        word = _word(r.id, "approved" if r.type == "time.approved" else "rejected", r.raw)
        if word is not None:
            batch.append(word)
        if len(batch) >= 2000:
            op.bulk_insert(words, batch)
            batch = []
    if batch:
        op.bulk_insert(words, batch)


def downgrade() -> None:
    op.drop_index("ix_billable_items_source_service_date", table_name="billable_items")
    op.drop_index("ix_psa_time_words_time_entry_id", table_name="psa_time_words")
    op.drop_index("ix_psa_time_words_work_date", table_name="psa_time_words")
    op.drop_table("psa_time_words")
