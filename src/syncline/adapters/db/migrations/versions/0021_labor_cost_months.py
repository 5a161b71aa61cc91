"""Labor cost by month: change counters raised by triggers, and a derived cache of each month's
costed time, so the close re-costs only the months that changed (docs/adr/0010)

``labor_cost_marks`` (month, time entry row → counter) is raised by triggers on
``time_entries`` (a row inserted, updated in a column the cost reads, or deleted: its old and
new month), ``labor_cost_rate_marks`` (worker, month → counter) by triggers on
``worker_versions`` (inserted, updated or deleted: every month from its effective date on), in
the writer's own transaction, whichever code writes. The cache
(``labor_cost_cached``, ``labor_cost_cells``) starts empty: a month is costed on first need.
Backfilled: one mark per time entry row.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME_COLUMNS = "work_date, worker_id, project_code, hours, status"

# One upsert per counter raised; the same statements on SQLite and PostgreSQL.
_TIME_MARK = """
    INSERT INTO labor_cost_marks (month, entry_row, version)
        VALUES (substr({r}.work_date, 1, 7), {r}.id, 1)
        ON CONFLICT (month, entry_row)
        DO UPDATE SET version = labor_cost_marks.version + 1;"""
_RATE_MARK = """
    INSERT INTO labor_cost_rate_marks (worker_id, month, version)
        VALUES ({r}.worker_id, substr({r}.effective_date, 1, 7), 1)
        ON CONFLICT (worker_id, month)
        DO UPDATE SET version = labor_cost_rate_marks.version + 1;"""
SQLITE = (
    "CREATE TRIGGER labor_cost_time_insert AFTER INSERT ON time_entries BEGIN"
    + _TIME_MARK.format(r="NEW") + " END",
    f"CREATE TRIGGER labor_cost_time_update AFTER UPDATE OF {_TIME_COLUMNS} ON time_entries"
    " BEGIN" + _TIME_MARK.format(r="OLD") + _TIME_MARK.format(r="NEW") + " END",
    "CREATE TRIGGER labor_cost_time_delete AFTER DELETE ON time_entries BEGIN"
    + _TIME_MARK.format(r="OLD") + " END",
    "CREATE TRIGGER labor_cost_version_insert AFTER INSERT ON worker_versions BEGIN"
    + _RATE_MARK.format(r="NEW") + " END",
    "CREATE TRIGGER labor_cost_version_update AFTER UPDATE ON worker_versions BEGIN"
    + _RATE_MARK.format(r="OLD") + _RATE_MARK.format(r="NEW") + " END",
    "CREATE TRIGGER labor_cost_version_delete AFTER DELETE ON worker_versions BEGIN"
    + _RATE_MARK.format(r="OLD") + " END",
)
POSTGRESQL = (
    "CREATE FUNCTION labor_cost_mark_time() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "    IF TG_OP <> 'INSERT' THEN" + _TIME_MARK.format(r="OLD") + " END IF;"
    "    IF TG_OP <> 'DELETE' THEN" + _TIME_MARK.format(r="NEW") + " END IF;"
    "    RETURN NULL; END $$",
    "CREATE FUNCTION labor_cost_mark_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "    IF TG_OP <> 'INSERT' THEN" + _RATE_MARK.format(r="OLD") + " END IF;"
    "    IF TG_OP <> 'DELETE' THEN" + _RATE_MARK.format(r="NEW") + " END IF;"
    "    RETURN NULL; END $$",
    "CREATE TRIGGER labor_cost_time AFTER INSERT OR DELETE OR UPDATE OF "
    f"{_TIME_COLUMNS} ON time_entries FOR EACH ROW EXECUTE FUNCTION labor_cost_mark_time()",
    "CREATE TRIGGER labor_cost_version AFTER INSERT OR UPDATE OR DELETE ON worker_versions "
    "FOR EACH ROW EXECUTE FUNCTION labor_cost_mark_version()",
)


def upgrade() -> None:
    op.create_table(
        "labor_cost_marks",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("entry_row", sa.String(40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "entry_row", name="pk_labor_cost_marks"),
    )
    op.create_table(
        "labor_cost_rate_marks",
        sa.Column("worker_id", sa.String(200), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", "month", name="pk_labor_cost_rate_marks"),
    )
    op.create_table(
        "labor_cost_cached",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", name="pk_labor_cost_cached"),
    )
    op.create_table(
        "labor_cost_cells",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("project_code", sa.String(100), nullable=False),
        sa.Column("rated", sa.Boolean(), nullable=False),
        sa.Column("cost_entity", sa.String(20), nullable=False),
        sa.Column("cost_currency", sa.String(3), nullable=False),
        sa.Column("cost", sa.String(40), nullable=False),
        sa.Column("hours", sa.String(40), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "project_code", "rated", "cost_entity",
                                "cost_currency", name="pk_labor_cost_cells"),
    )
    op.execute("INSERT INTO labor_cost_marks (month, entry_row, version) "
               "SELECT substr(work_date, 1, 7), id, 1 FROM time_entries")
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER labor_cost_time ON time_entries")
        op.execute("DROP TRIGGER labor_cost_version ON worker_versions")
        op.execute("DROP FUNCTION labor_cost_mark_time()")
        op.execute("DROP FUNCTION labor_cost_mark_version()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER labor_cost_time_{event}")
            op.execute(f"DROP TRIGGER labor_cost_version_{event}")
    op.drop_table("labor_cost_cells")
    op.drop_table("labor_cost_cached")
    op.drop_table("labor_cost_rate_marks")
    op.drop_table("labor_cost_marks")
