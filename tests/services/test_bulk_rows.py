"""`bulk.insert_rows` stores what SQLAlchemy's own insert stores, through the columns' bind
processors (a `Dec` amount as its exact text, a float amount refused)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Boolean, Column, MetaData, String, Table, create_engine

from syncline.adapters.db.base import Dec
from syncline.services.messaging.bulk import insert_rows

_META = MetaData()
_ROWS = Table("rows", _META, Column("key", String(20), primary_key=True),
              Column("amount", Dec()), Column("flag", Boolean, nullable=False))

amounts = st.one_of(st.none(), st.integers(-10**12, 10**12),
                    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
                        lambda d: abs(d.adjusted()) < 30),
                    st.decimals(allow_nan=False, allow_infinity=False, places=2,
                                min_value=-10**9, max_value=10**9).map(str))


def _stored(rows: list[dict[str, Any]], bulk: bool) -> list[Any]:
    engine = create_engine("sqlite://")
    _META.create_all(engine)
    with engine.begin() as conn:
        if bulk:
            insert_rows(conn, _ROWS, rows)
        else:
            conn.execute(_ROWS.insert(), rows)
        return conn.exec_driver_sql("SELECT key, amount, flag FROM rows ORDER BY key").all()


@given(st.lists(st.tuples(amounts, st.booleans()), min_size=1, max_size=8))
def test_the_same_text_as_sqlalchemys_insert(values: list[tuple[Any, bool]]) -> None:
    rows = [{"key": f"k{i}", "amount": a, "flag": f} for i, (a, f) in enumerate(values)]
    assert _stored(rows, bulk=True) == _stored(rows, bulk=False)


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(TypeError, match="floats are never stored"):
        _stored([{"key": "a", "amount": Decimal("1.10"), "flag": True},
                 {"key": "b", "amount": 1.1, "flag": False}], bulk=True)


def test_an_amount_keeps_its_exponent() -> None:
    assert [r[1] for r in _stored([{"key": "a", "amount": Decimal("7.50"), "flag": True}],
                                   bulk=True)] == ["7.50"]


_DEFAULTED = Table("defaulted", _META, Column("key", String(20), primary_key=True),
                   Column("note", String(20)),
                   Column("deferred", Boolean, nullable=False, default=False),
                   Column("fee", Dec(), default=Decimal("0.50")),
                   Column("label", String(20), default="none"))


@given(st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=5)), st.booleans()),
                min_size=1, max_size=6))
def test_columns_not_given_store_their_defaults_as_sqlalchemys_insert(
        values: list[tuple[str | None, bool]]) -> None:
    """The constant defaults (put through their processors once a plan) and rows of plain
    columns only (no processor at all) store what SQLAlchemy's insert stores."""
    for given_flag in (False, True):
        rows = [{"key": f"k{i}", "note": n, **({"deferred": f} if given_flag else {})}
                for i, (n, f) in enumerate(values)]
        stored = []
        for bulk in (True, False):
            engine = create_engine("sqlite://")
            _META.create_all(engine)
            with engine.begin() as conn:
                if bulk:
                    insert_rows(conn, _DEFAULTED, rows)
                else:
                    conn.execute(_DEFAULTED.insert(), rows)
                stored.append(conn.exec_driver_sql(
                    "SELECT key, note, deferred, fee, label FROM defaulted ORDER BY key").all())
        assert stored[0] == stored[1]
