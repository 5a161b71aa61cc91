"""Billable to date, carried: a contract's counted time and expense items summed per month for
the months recognition has carried, so that a run reads only the items after them
(docs/adr/0016)

``revenue_billable_carries`` (contract, month) and ``revenue_billable_sums`` (its sums per
source, line and currency). Triggers delete a contract's carried months from the service month
of any billable item inserted, updated (old and new row) or deleted on or before them, and all
its carried months on any insert, update or delete of one of its billing holds — in the
writer's own transaction, whichever code writes. No rows are made here: recognition carries
the months it reads (``services/revenue/billable_carried``), which is also the backfill.

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("revenue_billable_sums", "revenue_billable_carries")
# the contract's carried months from the month of a day on ({day} NULL: every month)
_FROM = "contract_number = {contract} AND period >= coalesce(substr({day}, 1, 7), '')"
_DROP = "".join(f" DELETE FROM {t} WHERE {_FROM};" for t in TABLES)
_ANY = "EXISTS (SELECT 1 FROM revenue_billable_carries WHERE " + _FROM + ")"
_ITEM = {"contract": "{r}.contract_number", "day": "{r}.service_date"}
_HOLD = {"contract": "{r}.contract_number", "day": "NULL"}


def _of(template: str, names: dict[str, str], row: str) -> str:
    return template.format(**{k: v.format(r=row) for k, v in names.items()})


def _sqlite() -> list[str]:
    out = []
    for table, names in (("billable_items", _ITEM), ("billing_holds", _HOLD)):
        for event, rows in (("insert", ("NEW",)), ("update", ("OLD", "NEW")),
                            ("delete", ("OLD",))):
            # a WHEN that finds no carried month keeps the usual insert (a new month's item)
            # to one index probe
            out += [f"CREATE TRIGGER billable_carried_{table}_{event}_{row.lower()} AFTER "
                    f"{event.upper()} ON {table} WHEN {_of(_ANY, names, row)} BEGIN"
                    f"{_of(_DROP, names, row)} END" for row in rows]
    return out


def _postgresql() -> list[str]:
    out = []
    for table, names in (("billable_items", _ITEM), ("billing_holds", _HOLD)):
        out += [
            f"CREATE FUNCTION billable_carried_drop_{table}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN"
            f"    IF TG_OP <> 'INSERT' THEN {_of(_DROP, names, 'OLD')} END IF;"
            f"    IF TG_OP <> 'DELETE' THEN {_of(_DROP, names, 'NEW')} END IF;"
            "    RETURN NULL; END $$",
            f"CREATE TRIGGER billable_carried_{table} AFTER INSERT OR UPDATE OR DELETE ON "
            f"{table} FOR EACH ROW EXECUTE FUNCTION billable_carried_drop_{table}()",
        ]
    return out


def upgrade() -> None:
    op.create_table(
        "revenue_billable_carries",
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.PrimaryKeyConstraint("contract_number", "period", name="pk_revenue_billable_carries"),
    )
    op.create_table(
        "revenue_billable_sums",
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("line_id", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("contract_number", "period", "source", "line_id", "currency",
                                name="pk_revenue_billable_sums"),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _postgresql() if postgresql else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    for table in ("billable_items", "billing_holds"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER billable_carried_{table} ON {table}")
            op.execute(f"DROP FUNCTION billable_carried_drop_{table}()")
        else:
            for event, rows in (("insert", ("new",)), ("update", ("old", "new")),
                                ("delete", ("old",))):
                for row in rows:
                    op.execute(f"DROP TRIGGER billable_carried_{table}_{event}_{row}")
    for table in TABLES:
        op.drop_table(table)
