"""Change generations: the published rate cards, kept by a process across batches

Every batch of the processor read every published rate card (two queries and a RateCard
built per version) before pricing time: about 1.5 M instructions a batch, most of the cost
of a batch of one message (an API's steady trickle). A process now keeps the cards it read
with the generation it read first (services/messaging/card_cache.py); this table holds the
generation, and triggers on ``rate_cards`` and ``rate_card_entries`` set it to a new random
value in the transaction of every insert, update or delete — Syncline's own publishing and
any SQL by hand alike. Random, not counted: a transaction rolled back, a database restored
or recreated at the same address never shows a generation a process has seen with other
cards.

Revision ID: 0025
Revises: 0024
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("rate_cards", "rate_card_entries")
_SQLITE_NEW = "random()"
_POSTGRESQL_NEW = "floor(random() * 9007199254740991)::bigint"
_BUMP = "UPDATE change_generations SET generation = {new} WHERE name = 'rate_cards';"
SQLITE = tuple(
    f"CREATE TRIGGER change_generation_{table}_{event} AFTER {event.upper()} ON {table} "
    f"BEGIN {_BUMP.format(new=_SQLITE_NEW)} END"
    for table in TABLES for event in ("insert", "update", "delete"))
POSTGRESQL = (
    "CREATE OR REPLACE FUNCTION change_generation_rate_cards() RETURNS trigger "
    f"LANGUAGE plpgsql AS $$ BEGIN {_BUMP.format(new=_POSTGRESQL_NEW)} RETURN NULL; END $$",
    *(f"CREATE TRIGGER change_generation_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
      "FOR EACH STATEMENT EXECUTE FUNCTION change_generation_rate_cards()" for table in TABLES),
)


def upgrade() -> None:
    op.create_table(
        "change_generations",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_change_generations"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute("INSERT INTO change_generations (name, generation) VALUES ('rate_cards', "
               f"{_POSTGRESQL_NEW if postgres else _SQLITE_NEW})")
    for statement in POSTGRESQL if postgres else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER change_generation_{table} ON {table}")
        op.execute("DROP FUNCTION change_generation_rate_cards()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER change_generation_{table}_{event}")
    op.drop_table("change_generations")
