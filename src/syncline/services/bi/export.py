"""Export the facts to a folder, incrementally: each run writes only what changed.

Layout of the feed folder::

    <table>/part-000001.parquet   the rows new or changed in run 1 (every table gets one in
    <table>/part-000003.parquet   its first run, empty if it has no rows, so readers always
                                  find a file); later runs only when something changed
    _state/<table>.parquet        per row key, a hash of the row as last exported
    _runs.jsonl                   one line a run: when, and per table what was written
    views.sql                     DuckDB views giving each table's current rows

Every part file has the table's columns plus ``_run`` (the run number) and ``_deleted``
(true for a row that has disappeared since it was exported — its key columns only). The
current state of a table is, per key, the row of the highest ``_run``, unless deleted: what
``views.sql`` selects. A run writes its part files first and its state after (each by a
rename), so a run killed half-way exports the same rows again next time, in a later part:
a duplicate version of a row, equal to the last, which the views collapse.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from syncline.services.bi.facts import CONVERT, FACTS, Fact

SEP = "\x1f"


@dataclass(frozen=True)
class Written:
    table: str
    rows: int  # new or changed rows written
    deleted: int  # tombstones written
    total: int  # rows in the table now
    file: str | None  # the part file written, relative to the feed folder

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value


def _digest(values: list[Any]) -> str:
    text = json.dumps([_plain(v) for v in values], default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _state_path(folder: Path, fact: Fact) -> Path:
    return folder / "_state" / f"{fact.name}.parquet"


def _read_state(folder: Path, fact: Fact) -> dict[str, str]:
    path = _state_path(folder, fact)
    if not path.exists():
        return {}
    table = pq.read_table(path)
    return dict(zip(table.column("key").to_pylist(), table.column("hash").to_pylist(),
                    strict=True))


def _write_atomically(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial, compression="zstd")
    os.replace(partial, path)


def _run_number(folder: Path) -> int:
    runs = folder / "_runs.jsonl"
    if not runs.exists():
        return 1
    return sum(1 for line in runs.read_text(encoding="utf-8").splitlines() if line) + 1


def _current(engine: Engine, fact: Fact) -> dict[str, list[Any]]:
    """The table's rows now, converted to their Arrow column's values, by key."""
    names = [n for n, _ in fact.columns]
    convert = [CONVERT.get(t) for _, t in fact.columns]
    rows: dict[str, list[Any]] = {}
    with engine.connect() as conn:
        for row in conn.execute(fact.query).mappings():
            values = [c(row[n]) if c else row[n] for n, c in zip(names, convert, strict=True)]
            rows[SEP.join(str(row[k]) for k in fact.key)] = values
    return rows


def _export_table(engine: Engine, folder: Path, fact: Fact, run: int) -> Written:
    before = _read_state(folder, fact)
    now = _current(engine, fact)
    hashes = {key: _digest(values) for key, values in now.items()}
    changed = [key for key, h in hashes.items() if before.get(key) != h]
    gone = [key for key in before if key not in hashes]
    parts = folder / fact.name
    first = not any(parts.glob("part-*.parquet"))
    if not changed and not gone and not first:
        return Written(fact.name, 0, 0, len(now), None)

    names = [n for n, _ in fact.columns]
    columns: dict[str, list[Any]] = {n: [] for n in names}
    for key in changed:
        for n, v in zip(names, now[key], strict=True):
            columns[n].append(v)
    key_at = {k: names.index(k) for k in fact.key}
    for key in gone:  # a tombstone: the key's columns, the rest empty
        parts_of_key = key.split(SEP)
        for n in names:
            columns[n].append(parts_of_key[list(fact.key).index(n)] if n in key_at else None)
    for k in fact.key:  # key columns typed like the table (an integer line number)
        if fact.schema.field(k).type == pa.int64():
            columns[k] = [int(v) for v in columns[k]]
    schema = fact.schema.append(pa.field("_run", pa.int64())).append(
        pa.field("_deleted", pa.bool_()))
    count = len(changed) + len(gone)
    table = pa.table({**{n: pa.array(columns[n], type=t) for n, t in fact.columns},
                      "_run": pa.array([run] * count, type=pa.int64()),
                      "_deleted": pa.array([False] * len(changed) + [True] * len(gone))},
                     schema=schema)
    name = f"part-{run:06d}.parquet"
    _write_atomically(table, parts / name)
    state = pa.table({"key": pa.array(list(hashes), type=pa.string()),
                      "hash": pa.array(list(hashes.values()), type=pa.string())})
    _write_atomically(state, _state_path(folder, fact))
    return Written(fact.name, len(changed), len(gone), len(now), f"{fact.name}/{name}")


def views_sql(facts: tuple[Fact, ...] = FACTS) -> str:
    """DuckDB views of each table's current rows (paths relative to the feed folder)."""
    out = ["-- Syncline BI feed: the current rows of each table (docs/bi-feed.md).",
           "-- Run from the feed folder: duckdb -init views.sql",
           "-- (or SET file_search_path = '<feed folder>'; then read this file)."]
    for fact in facts:
        key = ", ".join(fact.key)
        out.append(
            f"CREATE OR REPLACE VIEW {fact.name} AS SELECT * EXCLUDE (_run, _deleted, _n) "
            f"FROM (SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY _run DESC) AS _n"
            f" FROM read_parquet('{fact.name}/part-*.parquet', union_by_name = true)) "
            f"WHERE _n = 1 AND NOT _deleted;")
    return "\n".join(out) + "\n"


def export(engine: Engine, folder: Path, *, now: datetime,
           facts: tuple[Fact, ...] = FACTS) -> dict[str, Any]:
    """One run of the feed into ``folder``: per table the rows new or changed since the
    last run (and tombstones), as a new part file; what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    run = _run_number(folder)
    written = [_export_table(engine, folder, fact, run) for fact in facts]
    (folder / "views.sql").write_text(views_sql(facts), encoding="utf-8")
    summary = {"run": run, "at": now.isoformat(), "tables": [w.as_dict() for w in written]}
    with (folder / "_runs.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(summary, sort_keys=True) + "\n")
    return summary
