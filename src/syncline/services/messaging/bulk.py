"""Rows of a unit of work written straight to the driver: one `executemany` a statement.

SQLAlchemy's `conn.execute(table.insert(), rows)` builds its parameters row by row (a dict
per row through the compiled statement's processors, some tens of microseconds each): for
the thousands of time entries, billable items and inbox marks of a batch that was most of the
cost of writing them. Here the statement is made once per table, columns and dialect, and
each row becomes a tuple through the same bind processors SQLAlchemy would use (a
``Dec`` amount still becomes its exact text; a float amount is still refused), so what is
stored is the same.

On PostgreSQL psycopg sends an `executemany` as one pipeline of prepared statements: measured
here, 10,000 rows went in 0.08 s of client CPU that way and 0.14 s as multi-row
``INSERT … VALUES (…), (…)`` statements of 100 or 500 rows. But the server still executes each
row as a statement of its own: by wall clock, 10,000 rows of eleven columns and four indexes
took 0.27–0.29 s that way and 0.08–0.14 s by ``COPY … FROM STDIN`` (psycopg's ``copy``,
in the same transaction; triggers and constraints apply as to an INSERT). So on PostgreSQL
`insert_rows` copies a set of `COPY_FROM` rows or more; everything else is an `executemany`.
"""

from __future__ import annotations

import itertools
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Connection, Table
from sqlalchemy.exc import DBAPIError

from syncline.adapters.db.base import Dec, dec_text

# head, names given, processors, constants, the COPY statement of the same columns
_Plan = tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...], tuple[Any, ...],
              str]
COPY_FROM = 8  # PostgreSQL: a set of this many rows or more is copied (module doc)
_plans: dict[tuple[str, str, tuple[str, ...]], _Plan | None] = {}


_shapes: dict[tuple[str, ...], Any] = {}


def shape(fields: tuple[str, ...]) -> Any:
    """The named tuple type `light` gives rows of these fields, made once; None when a field
    is not an identifier (such rows stay as they are)."""
    found = _shapes.get(fields)
    if found is None:
        try:
            found = namedtuple("Light", fields)  # type: ignore[misc]
        except ValueError:  # a field that is not an identifier
            found = False
        _shapes[fields] = found
    return found or None


def light(rows: Iterable[Any]) -> list[Any]:
    """Result rows as named tuples of the same fields, for rows whose attributes are read many
    times (a set's projects and workers, a batch's inbox rows). SQLAlchemy's ``Row`` answers
    each attribute read by first failing a look-up on its class (an AttributeError built and
    dropped: about 2,000 instructions a read, 5 % of an ingest's, measured with callgrind); a
    named tuple's field is an item read. Rows whose fields are not all identifiers are
    returned as they are."""
    out = list(rows)
    if not out or not hasattr(out[0], "_fields"):
        return out
    made = shape(out[0]._fields)
    if made is None or isinstance(out[0], made):
        return out
    return [made._make(r) for r in out]


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


_texts: dict[str, str] = {}


def driver(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The result of `sql` — plain SQL written with ``?`` marks (no ``%``), whose columns need
    no conversion (text, integers) — executed straight through the driver with `params`.
    For a statement a message runs: measured here 35–40 µs a statement against 47–72 µs for
    the same statement built once and executed by Core."""
    if _mark(conn) != "?":
        sql = _texts.get(sql) or _texts.setdefault(sql, sql.replace("?", _mark(conn)))
    return conn.exec_driver_sql(sql, params)


def _flags(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A Boolean column's bind processor answering True and False from a table (what it
    gives for them), anything else as it does: a row of time has one, 10,847 an ingest."""
    if process is None:
        return None
    known = {True: process(True), False: process(False)}

    def flag(value: Any) -> Any:
        return known[value] if value is True or value is False else process(value)

    return flag


def _plan(conn: Connection, table: Table, names: tuple[str, ...]) -> _Plan | None:
    """The INSERT (its ``… VALUES `` head) for these columns, their processors, and the
    constant Python-side defaults of the columns not given, put through their processors
    here once (not once a row); None when a column not given has a default that must be
    called (SQLAlchemy then inserts, as before)."""
    dialect = conn.dialect
    constants: list[tuple[str, Any]] = []
    for column in table.c:
        if column.name in names or column.default is None:
            continue
        if not getattr(column.default, "is_scalar", False):
            return None
        constants.append((column.name, column.default.arg))  # type: ignore[attr-defined]
    columns = [table.c[n] for n in names] + [table.c[n] for n, _ in constants]
    processors = tuple(dec_text if isinstance(c.type, Dec) else  # (its processor, unwrapped)
                       _flags(c.type.dialect_impl(dialect).bind_processor(dialect))
                       if isinstance(c.type, Boolean) else
                       c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)
    listed = ", ".join(c.name for c in columns)
    given = len(names)
    stored = tuple(v if v is None or (p := processors[given + i]) is None else p(v)
                   for i, (_, v) in enumerate(constants))
    return (f"INSERT INTO {table.name} ({listed}) VALUES ", names, processors[:given],
            stored, f"COPY {table.name} ({listed}) FROM STDIN")


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the keys of the first) as `conn.execute(table.insert(), rows)`
    would, in one executemany."""
    if not rows:
        return
    names = tuple(rows[0])
    key = (conn.dialect.name, table.name, names)
    if key not in _plans:
        _plans[key] = _plan(conn, table, names)
    plan = _plans[key]
    if plan is None:
        conn.execute(table.insert(), list(rows))
        return
    head, names, processors, constants, copy = plan
    take = itemgetter(*names)
    one = len(names) == 1
    convert = [(i, p) for i, p in enumerate(processors) if p is not None]
    params: list[tuple[Any, ...]]
    if not convert:  # (plain columns: the values as they are)
        params = [(take(row), *constants) if one else (*take(row), *constants)
                  for row in rows]
    else:
        params = []
        for row in rows:
            values = [take(row)] if one else list(take(row))
            for i, p in convert:
                if values[i] is not None:
                    values[i] = p(values[i])
            values.extend(constants)
            params.append(tuple(values))
    _write(conn, head, copy, params)


def write_rows(conn: Connection, table: str, columns: Sequence[str],
               params: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows of plain values (str, int, bool, None, in `columns` order) into `table` as
    `insert_rows` writes its own: by COPY on PostgreSQL for `COPY_FROM` rows or more, else in
    one executemany."""
    listed = ", ".join(columns)
    _write(conn, f"INSERT INTO {table} ({listed}) VALUES ", f"COPY {table} ({listed}) FROM STDIN",
           params)


def _write(conn: Connection, head: str, copy: str, params: Sequence[tuple[Any, ...]]) -> None:
    if len(params) >= COPY_FROM and conn.dialect.name == "postgresql":
        copy_rows(conn, copy, params)
    else:
        write_values(conn, head, params)


def copy_rows(conn: Connection, copy: str, params: Sequence[tuple[Any, ...]]) -> None:
    """``COPY … FROM STDIN`` of `params` on PostgreSQL, in the connection's transaction; a
    refusal (a unique key, a constraint) raises what SQLAlchemy raises for an INSERT
    (`IntegrityError`, …)."""
    raw: Any = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cursor, cursor.copy(copy) as rows:
            for row in params:
                rows.write_row(row)
    except raw.Error as err:
        raise DBAPIError.instance(copy, None, err, raw.Error, dialect=conn.dialect) from err


def select_in(conn: Connection, sql: str, values: Sequence[Any], *,
              chunk: int = 500) -> list[Any]:
    """The rows of `sql` (text with one ``IN ({})`` and no other parameter) for `values`, 500
    at a time, straight to the driver: SQLAlchemy compiles an expanding IN anew for each
    execution. Columns come as the driver gives them (text and integers: no conversion)."""
    mark = _mark(conn)
    out: list[Any] = []
    for start in range(0, len(values), chunk):
        part = tuple(values[start:start + chunk])
        out.extend(conn.exec_driver_sql(sql.format(", ".join([mark] * len(part))), part))
    return out


def write_values(conn: Connection, head: str, params: Sequence[tuple[Any, ...]],
                 tail: str = "") -> None:
    """``head`` + a ``(…)`` of marks + ``tail`` (an INSERT's ``… VALUES `` and, say, its
    ``ON CONFLICT`` clause) for every row of `params`, in one executemany."""
    if params:
        row = f"({', '.join([_mark(conn)] * len(params[0]))})"
        conn.exec_driver_sql(head + row + tail, list(params))


def upsert_rows(conn: Connection, table: str, columns: tuple[str, ...], key: str,
                params: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows of plain values (in `columns` order), a row whose `key` is stored already
    replacing its other columns (``ON CONFLICT (key) DO UPDATE``, SQLite 3.24+ and PostgreSQL
    alike); of two rows with one key the later wins."""
    tail = (f" ON CONFLICT ({key}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in columns if c != key))
    write_values(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ", params, tail)


def update_rows(conn: Connection, table: str, key: str, columns: tuple[str, ...],
                params: Sequence[tuple[Any, ...]], *, constants: str = "") -> None:
    """Set `columns` (and the SQL assignments `constants`, e.g. ``status = 'applied'``) of
    the row whose `key` is each param's last value — ``(column values…, key)``, plain text,
    integers or None — in one executemany."""
    if params:
        mark = _mark(conn)
        sets = ", ".join([*([constants] if constants else []),
                          *(f"{c} = {mark}" for c in columns)])
        conn.exec_driver_sql(f"UPDATE {table} SET {sets} WHERE {key} = {mark}", list(params))


_names = itertools.count(1)


class Savepoint:
    """A savepoint said straight to the driver: SQLAlchemy's `begin_nested` compiles its
    SAVEPOINT and RELEASE anew each time (the names differ), which cost more than applying a
    small set. Savepoints of a unit of work nest inside its one transaction, as before."""

    __slots__ = ("conn", "name")

    def __init__(self, conn: Connection) -> None:
        self.conn, self.name = conn, f"syncline_{next(_names)}"
        conn.exec_driver_sql(f"SAVEPOINT {self.name}")

    def commit(self) -> None:
        self.conn.exec_driver_sql(f"RELEASE SAVEPOINT {self.name}")

    def rollback(self) -> None:
        self.conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {self.name}")
        self.conn.exec_driver_sql(f"RELEASE SAVEPOINT {self.name}")
