"""Carried balances: the books of a locked month summed per what the close's checks tell apart,
so that a later period's reports read them plus only the entries after it (docs/adr/0014)

``ledger_carries`` (entity, month → the receivable account it was keyed by) and
``ledger_carried_balances`` (its sums). Triggers on the journal tables delete an entity's
carries from the month of any row inserted, updated or deleted on or before them, in the
writer's own transaction, whichever code writes. No rows are made here: a carry is keyed by
the receivable account of the ledger configuration, which a migration does not know; the next
close carries every locked month of the books already there (the backfill,
``services/ledger/carried.keep_carries``; tests/integration/test_migrations.py).

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same statements on SQLite and PostgreSQL: the entity's carries from a month on go.
_DROP_FROM = """
    DELETE FROM ledger_carried_balances WHERE entity_code = {entity}
        AND period >= substr({day}, 1, 7);
    DELETE FROM ledger_carries WHERE entity_code = {entity} AND period >= substr({day}, 1, 7);"""
_ENTRY = "(SELECT {col} FROM journal_entries WHERE id = {r}.entry_id)"
_HEAD = {"entity": "{r}.entity_code", "day": "{r}.posting_date"}
_PART = {"entity": _ENTRY.format(col="entity_code", r="{r}"),
         "day": _ENTRY.format(col="posting_date", r="{r}")}
PARTS = ("journal_lines", "journal_line_details", "journal_entry_metadata")


def _drop(row: str, head: bool) -> str:
    names = _HEAD if head else _PART
    return _DROP_FROM.format(**{k: v.format(r=row) for k, v in names.items()})


def _sqlite() -> list[str]:
    out = []
    for table in ("journal_entries", *PARTS):
        head = table == "journal_entries"
        out += [
            f"CREATE TRIGGER carried_{table}_insert AFTER INSERT ON {table} BEGIN"
            + _drop("NEW", head) + " END",
            f"CREATE TRIGGER carried_{table}_update AFTER UPDATE ON {table} BEGIN"
            + _drop("OLD", head) + _drop("NEW", head) + " END",
            # a part's entry is still there when the part goes (parts go first: foreign keys)
            f"CREATE TRIGGER carried_{table}_delete AFTER DELETE ON {table} BEGIN"
            + _drop("OLD", head) + " END",
        ]
    return out


def _postgresql() -> list[str]:
    out = []
    for table in ("journal_entries", *PARTS):
        head = table == "journal_entries"
        out += [
            f"CREATE FUNCTION carried_drop_{table}() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN"
            "    IF TG_OP <> 'INSERT' THEN" + _drop("OLD", head) + " END IF;"
            "    IF TG_OP <> 'DELETE' THEN" + _drop("NEW", head) + " END IF;"
            "    RETURN NULL; END $$",
            f"CREATE TRIGGER carried_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION carried_drop_{table}()",
        ]
    return out


def upgrade() -> None:
    op.create_table(
        "ledger_carries",
        sa.Column("entity_code", sa.String(20), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("receivable_account", sa.String(40), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity_code", "period", name="pk_ledger_carries"),
    )
    op.create_table(
        "ledger_carried_balances",
        sa.Column("entity_code", sa.String(20), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("source_type", sa.String(40), nullable=False),
        sa.Column("account", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("functional_currency", sa.String(3), nullable=False),
        sa.Column("revalues", sa.String(40), nullable=False),
        sa.Column("counterparty", sa.String(40), nullable=False),
        sa.Column("charge", sa.Text(), nullable=False),
        sa.Column("contract", sa.String(100), nullable=False),
        sa.Column("document", sa.String(100), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("amount", sa.String(40), nullable=False),
        sa.Column("functional", sa.String(40), nullable=False),
        sa.Column("first_currency", sa.String(3), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entity_code", "period", "row_no",
                                name="pk_ledger_carried_balances"),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _postgresql() if postgresql else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    for table in ("journal_entries", *PARTS):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER carried_{table} ON {table}")
            op.execute(f"DROP FUNCTION carried_drop_{table}()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER carried_{table}_{event}")
    op.drop_table("ledger_carried_balances")
    op.drop_table("ledger_carries")
