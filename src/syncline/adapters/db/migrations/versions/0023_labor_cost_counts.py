"""Labor cost by month: a time entry inserted is counted, not marked (docs/adr/0010)

Migration 0021's insert trigger on ``time_entries`` cost about 15 µs of CPU per approved time
entry received (an upsert into ``labor_cost_marks`` per row, inside the ingest's bulk insert):
most of the CPU the month cache saved the close was paid again at ingest. A month's version is
now the number of its time entries (counted by a range read on the work-date index when the
close asks) plus its marks, which only updates and deletes raise:

- an insert raises the month's count by 1;
- a delete lowers the count by 1 and raises the month's mark by 2 (net +1);
- an update raises the old month's mark by 2 and the new month's by 1 (net +1 on each month
  when it moves the entry: the count moves with it; +3 when it stays in the month).

So every change still raises each month it touches, and a version never repeats. The marks,
the cached versions and the cells are emptied (the cache is derived: each month is costed again
on first need).

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME_COLUMNS = "work_date, worker_id, project_code, hours, status"
_MARK = """
    INSERT INTO labor_cost_marks (month, entry_row, version)
        VALUES (substr({r}.work_date, 1, 7), {r}.id, {n})
        ON CONFLICT (month, entry_row)
        DO UPDATE SET version = labor_cost_marks.version + {n};"""
SQLITE = (
    f"CREATE TRIGGER labor_cost_time_update AFTER UPDATE OF {_TIME_COLUMNS} ON time_entries"
    " BEGIN" + _MARK.format(r="OLD", n=2) + _MARK.format(r="NEW", n=1) + " END",
    "CREATE TRIGGER labor_cost_time_delete AFTER DELETE ON time_entries BEGIN"
    + _MARK.format(r="OLD", n=2) + " END",
)
POSTGRESQL = (
    "CREATE OR REPLACE FUNCTION labor_cost_mark_time() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN" + _MARK.format(r="OLD", n=2) +
    "    IF TG_OP = 'UPDATE' THEN" + _MARK.format(r="NEW", n=1) + " END IF;"
    "    RETURN NULL; END $$",
    "CREATE TRIGGER labor_cost_time AFTER DELETE OR UPDATE OF "
    f"{_TIME_COLUMNS} ON time_entries FOR EACH ROW EXECUTE FUNCTION labor_cost_mark_time()",
)
# 0021's, for the downgrade: every insert, update and delete marked by 1
_MARK_0021 = _MARK.replace("{n}", "1")
SQLITE_0021 = (
    "CREATE TRIGGER labor_cost_time_insert AFTER INSERT ON time_entries BEGIN"
    + _MARK_0021.format(r="NEW") + " END",
    f"CREATE TRIGGER labor_cost_time_update AFTER UPDATE OF {_TIME_COLUMNS} ON time_entries"
    " BEGIN" + _MARK_0021.format(r="OLD") + _MARK_0021.format(r="NEW") + " END",
    "CREATE TRIGGER labor_cost_time_delete AFTER DELETE ON time_entries BEGIN"
    + _MARK_0021.format(r="OLD") + " END",
)
POSTGRESQL_0021 = (
    "CREATE OR REPLACE FUNCTION labor_cost_mark_time() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "    IF TG_OP <> 'INSERT' THEN" + _MARK_0021.format(r="OLD") + " END IF;"
    "    IF TG_OP <> 'DELETE' THEN" + _MARK_0021.format(r="NEW") + " END IF;"
    "    RETURN NULL; END $$",
    "CREATE TRIGGER labor_cost_time AFTER INSERT OR DELETE OR UPDATE OF "
    f"{_TIME_COLUMNS} ON time_entries FOR EACH ROW EXECUTE FUNCTION labor_cost_mark_time()",
)


def _empty_the_cache() -> None:
    for table in ("labor_cost_marks", "labor_cost_cached", "labor_cost_cells"):
        op.execute(f"DELETE FROM {table}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER labor_cost_time ON time_entries")
        statements = POSTGRESQL
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER labor_cost_time_{event}")
        statements = SQLITE
    _empty_the_cache()
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER labor_cost_time ON time_entries")
        statements = POSTGRESQL_0021
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER labor_cost_time_{event}")
        statements = SQLITE_0021
    _empty_the_cache()
    op.execute("INSERT INTO labor_cost_marks (month, entry_row, version) "
               "SELECT substr(work_date, 1, 7), id, 1 FROM time_entries")
    for statement in statements:
        op.execute(statement)
