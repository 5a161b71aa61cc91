"""Recognition carried: a contract's net billed amount and its revenue and billing journal lines
summed through a locked month, so that a run reads only the documents and entries after it
(docs/adr/0022)

``revenue_recognition_carries`` (contract → month, net billed through it) and
``revenue_carried_lines`` (its journal sums per kind, source type and account). Triggers delete
every contract's carry from the month of any invoice or credit note (inserted, deleted, or its
number, contract, date or subtotal changed) and any journal entry, line or line detail
(inserted, updated, deleted) dated on or before it, in the writer's own transaction, whichever
code writes. No rows are made here: recognition carries what it reads
(``services/revenue/recognition_carried``), which is also the backfill.

Revision ID: 0029
Revises: 0028
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("revenue_carried_lines", "revenue_recognition_carries")
_FROM = "period >= substr({day}, 1, 7)"
_DROP = "".join(f" DELETE FROM {t} WHERE {_FROM};" for t in TABLES)
_ANY = "EXISTS (SELECT 1 FROM revenue_recognition_carries WHERE " + _FROM + ")"
_ENTRY = "(SELECT posting_date FROM journal_entries WHERE id = {r}.entry_id)"
# table → (its day, the columns whose update counts: None for every column)
WATCHED: dict[str, tuple[str, str | None]] = {
    "invoices": ("{r}.invoice_date", "number, contract_number, invoice_date, subtotal"),
    "credit_notes": ("{r}.credit_date", "number, contract_number, credit_date, subtotal"),
    "journal_entries": ("{r}.posting_date", None),
    "journal_lines": (_ENTRY, None),
    "journal_line_details": (_ENTRY, None),
}


def _of(template: str, day: str, row: str) -> str:
    return template.format(day=day.format(r=row))


def _sqlite() -> list[str]:
    out = []
    for table, (day, columns) in WATCHED.items():
        for event, rows in (("insert", ("NEW",)), ("update", ("OLD", "NEW")),
                            ("delete", ("OLD",))):
            what = f"UPDATE OF {columns}" if event == "update" and columns else event.upper()
            # a WHEN that finds no carry at or after the row's month keeps the usual write
            # (the open month's) to one index probe
            out += [f"CREATE TRIGGER recognition_carried_{table}_{event}_{row.lower()} AFTER "
                    f"{what} ON {table} WHEN {_of(_ANY, day, row)} BEGIN"
                    f"{_of(_DROP, day, row)} END" for row in rows]
    return out


def _postgresql() -> list[str]:
    out = []
    for table, (day, columns) in WATCHED.items():
        update = f"UPDATE OF {columns}" if columns else "UPDATE"
        out += [
            f"CREATE FUNCTION recognition_carried_drop_{table}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN"
            f"    IF TG_OP <> 'INSERT' THEN {_of(_DROP, day, 'OLD')} END IF;"
            f"    IF TG_OP <> 'DELETE' THEN {_of(_DROP, day, 'NEW')} END IF;"
            "    RETURN NULL; END $$",
            f"CREATE TRIGGER recognition_carried_{table} AFTER INSERT OR {update} OR DELETE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION recognition_carried_drop_{table}()",
        ]
    return out


def upgrade() -> None:
    op.create_table(
        "revenue_recognition_carries",
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("billed", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("contract_number", name="pk_revenue_recognition_carries"),
    )
    op.create_index("ix_revenue_recognition_carries_period", "revenue_recognition_carries",
                    ["period"])
    op.create_table(
        "revenue_carried_lines",
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("source_type", sa.String(40), nullable=False),
        sa.Column("account", sa.String(40), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount", sa.String(40), nullable=False),
        sa.Column("functional_amount", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("contract_number", "kind", "source_type", "account",
                                name="pk_revenue_carried_lines"),
    )
    op.create_index("ix_revenue_carried_lines_period", "revenue_carried_lines", ["period"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _postgresql() if postgresql else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    for table in WATCHED:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER recognition_carried_{table} ON {table}")
            op.execute(f"DROP FUNCTION recognition_carried_drop_{table}()")
        else:
            for event, rows in (("insert", ("new",)), ("update", ("old", "new")),
                                ("delete", ("old",))):
                for row in rows:
                    op.execute(f"DROP TRIGGER recognition_carried_{table}_{event}_{row}")
    op.drop_index("ix_revenue_carried_lines_period", table_name="revenue_carried_lines")
    op.drop_table("revenue_carried_lines")
    op.drop_index("ix_revenue_recognition_carries_period",
                  table_name="revenue_recognition_carries")
    op.drop_table("revenue_recognition_carries")
