"""On PostgreSQL `bulk.insert_rows` copies a set of `COPY_FROM` rows or more (``COPY … FROM
STDIN``): what it stores is what SQLAlchemy's own INSERT stores for the same rows — text with
tabs, newlines, backslashes and ``\\N`` in it, NULLs, booleans, exact decimals — and a
refused row raises SQLAlchemy's `IntegrityError`, as an INSERT does."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from syncline.adapters.db.business_tables import billable_items
from syncline.adapters.db.engine import make_engine, migrate
from syncline.adapters.db.scratch import throwaway_database
from syncline.services.messaging import bulk
from tests.conftest import pg_admin

pytestmark = pytest.mark.postgres

# text PostgreSQL stores (no NUL), with COPY's own escapes among it
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=30) | st.sampled_from(["\\N", "\t", "a\nb", "\\", "\\.", "é ü"])
maybe = st.none() | texts
amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4,
                      allow_nan=False, allow_infinity=False)


def _item(i: int, description: str, origin: str | None, role: str | None, amount: Decimal,
          deferred: bool | None) -> dict[str, Any]:
    row = {"key": f"time:TE-{i}", "contract_number": "C-1", "source": "time",
           "service_date": "2026-01-05", "description": description or "-",
           "quantity": Decimal("7.50"), "unit_price": Decimal("150.00"), "currency": "USD",
           "amount": amount, "rate_scope": "contract", "status": "generated",
           "invoice_number": None, "origin": origin, "role": role}
    if deferred is not None:
        row["deferred"] = deferred
    return row


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_copy") as url:
            made = make_engine(url)
            migrate(made)
            yield made
            made.dispose()
    finally:
        admin.dispose()


def _stored(engine: Engine, write: Any, rows: list[dict[str, Any]]) -> list[Any]:
    """The rows as stored by `write`, read back, in a transaction rolled back afterwards."""
    with engine.connect() as conn, conn.begin() as tx:
        write(conn, rows)
        stored = [tuple(r) for r in conn.execute(select(billable_items)
                                                   .order_by(billable_items.c.key))]
        tx.rollback()
    return stored


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(texts, maybe, maybe, amounts), min_size=bulk.COPY_FROM,
                max_size=bulk.COPY_FROM + 4), st.sampled_from([None, True, False]))
def test_a_copied_set_stores_what_an_insert_stores(engine: Engine, values: list[Any],
                                                   deferred: bool | None) -> None:
    rows = [_item(i, *v, deferred) for i, v in enumerate(values)]
    copied = _stored(engine, lambda c, r: bulk.insert_rows(c, billable_items, r), rows)
    inserted = _stored(engine, lambda c, r: c.execute(billable_items.insert(), r), rows)
    assert copied == inserted
    assert len(copied) == len(rows)


def test_a_refused_row_raises_an_integrity_error(engine: Engine) -> None:
    rows = [_item(i, "x", None, None, Decimal(1), None) for i in range(bulk.COPY_FROM)]
    rows[-1] = {**rows[-1], "key": rows[0]["key"]}  # the same key twice
    with engine.connect() as conn, conn.begin(), pytest.raises(IntegrityError):
        bulk.insert_rows(conn, billable_items, rows)
