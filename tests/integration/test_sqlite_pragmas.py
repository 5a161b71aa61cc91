"""The settings every SQLite connection of an engine gets (adapters/db/engine.py): WAL on a
file, synchronous NORMAL, foreign keys on, the busy timeout, and a page cache large enough
that an ingest's unit of work does not spill changed pages to the log before it commits."""

from __future__ import annotations

from pathlib import Path

from syncline.adapters.db.engine import BUSY_TIMEOUT_MS, CACHE_KIB, make_engine


def _pragma(conn: object, name: str) -> object:
    return conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # type: ignore[attr-defined]


def test_each_connection_of_a_file_engine_gets_the_settings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with engine.connect() as one, engine.connect() as two:  # two pooled connections
            for conn in (one, two):
                assert _pragma(conn, "journal_mode") == "wal"
                assert _pragma(conn, "synchronous") == 1  # NORMAL
                assert _pragma(conn, "foreign_keys") == 1
                assert _pragma(conn, "busy_timeout") == BUSY_TIMEOUT_MS
                assert _pragma(conn, "cache_size") == -CACHE_KIB  # KiB, not pages
    finally:
        engine.dispose()

