"""The shared metadata and column types of every table module (tables.py and the engines')."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Dialect, MetaData, String
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


def dec_text(value: Any) -> str | None:
    """What a `Dec` column stores for `value`: its exact text (a float is refused)."""
    if type(value) is Decimal:
        return str(value)
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("floats are never stored as amounts")
    return str(Decimal(value))


class Dec(TypeDecorator[Decimal]):
    """A Decimal kept as its exact text, so SQLite never turns money into a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return dec_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def _id() -> Column[str]:
    return Column("id", String(40), primary_key=True)
