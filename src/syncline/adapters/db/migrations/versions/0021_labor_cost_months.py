"""Labor cost by month: change counters raised by triggers, and a derived cache of each month's
costed time, so the close re-costs only the months that changed (docs/adr/0010)

``labor_cost_marks`` (month, worker → version) is raised by triggers on ``time_entries`` (a row
inserted, updated in a column the cost reads, or deleted: its old and new month) and on
``worker_versions`` (a version inserted, updated or deleted: that worker's months from its
effective date on), in the writer's own transaction, whichever code writes. The cache
(``labor_cost_cached``, ``labor_cost_cells``) starts empty: a month is costed on first need.
Backfilled: one mark per (month, worker) that has time.

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

# SQLite: one trigger per event, one upsert per month marked.
_SQLITE_MARK = """
    INSERT INTO labor_cost_marks (month, worker_id, version)
        VALUES (substr({r}.work_date, 1, 7), {r}.worker_id, 1)
        ON CONFLICT (month, worker_id) DO UPDATE SET version = version + 1;"""
_SQLITE_VERSION = """
    UPDATE labor_cost_marks SET version = version + 1
        WHERE worker_id = {r}.worker_id AND month >= substr({r}.effective_date, 1, 7);"""
SQLITE = (
    "CREATE TRIGGER labor_cost_time_insert AFTER INSERT ON time_entries BEGIN"
    + _SQLITE_MARK.format(r="NEW") + " END",
    f"CREATE TRIGGER labor_cost_time_update AFTER UPDATE OF {_TIME_COLUMNS} ON time_entries"
    " BEGIN" + _SQLITE_MARK.format(r="OLD") + _SQLITE_MARK.format(r="NEW") + " END",
    "CREATE TRIGGER labor_cost_time_delete AFTER DELETE ON time_entries BEGIN"
    + _SQLITE_MARK.format(r="OLD") + " END",
    "CREATE TRIGGER labor_cost_version_insert AFTER INSERT ON worker_versions BEGIN"
    + _SQLITE_VERSION.format(r="NEW") + " END",
    "CREATE TRIGGER labor_cost_version_update AFTER UPDATE ON worker_versions BEGIN"
    + _SQLITE_VERSION.format(r="OLD") + _SQLITE_VERSION.format(r="NEW") + " END",
    "CREATE TRIGGER labor_cost_version_delete AFTER DELETE ON worker_versions BEGIN"
    + _SQLITE_VERSION.format(r="OLD") + " END",
)

_PG_MARK = """
        INSERT INTO labor_cost_marks (month, worker_id, version)
            VALUES (substr({r}.work_date, 1, 7), {r}.worker_id, 1)
            ON CONFLICT (month, worker_id)
            DO UPDATE SET version = labor_cost_marks.version + 1;"""
_PG_VERSION = """
        UPDATE labor_cost_marks SET version = version + 1
            WHERE worker_id = {r}.worker_id AND month >= substr({r}.effective_date, 1, 7);"""
POSTGRESQL = (
    "CREATE FUNCTION labor_cost_mark_time() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "    IF TG_OP <> 'INSERT' THEN" + _PG_MARK.format(r="OLD") + " END IF;"
    "    IF TG_OP <> 'DELETE' THEN" + _PG_MARK.format(r="NEW") + " END IF;"
    "    RETURN NULL; END $$",
    "CREATE FUNCTION labor_cost_mark_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "    IF TG_OP <> 'INSERT' THEN" + _PG_VERSION.format(r="OLD") + " END IF;"
    "    IF TG_OP <> 'DELETE' THEN" + _PG_VERSION.format(r="NEW") + " END IF;"
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
        sa.Column("worker_id", sa.String(200), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "worker_id", name="pk_labor_cost_marks"),
    )
    op.create_index("ix_labor_cost_marks_worker_id", "labor_cost_marks", ["worker_id", "month"])
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
    op.execute("INSERT INTO labor_cost_marks (month, worker_id, version) "
               "SELECT DISTINCT substr(work_date, 1, 7), worker_id, 1 FROM time_entries")
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
    op.drop_index("ix_labor_cost_marks_worker_id", table_name="labor_cost_marks")
    op.drop_table("labor_cost_marks")
