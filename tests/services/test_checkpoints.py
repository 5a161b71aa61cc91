"""The API's receive writer commits without checkpointing SQLite's log; a `Checkpointer`
thread does it after the commits (services/messaging/checkpoints.py). What is committed is
the same either way; only who copies the log into the database file, and when, differs."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from syncline.adapters.db.engine import make_engine
from syncline.services.messaging.checkpoints import Checkpointer, checkpointer_for
from syncline.services.messaging.write_lock import AUTOCHECKPOINT_PAGES, promptly

PAGE = "x" * 3000  # a row of most of a page: 1,200 rows take the log past 1,000 pages


def _engine(tmp_path: Path) -> tuple[Engine, Path]:
    db = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    return engine, db


def _write(engine: Engine, rows: int, checkpoint: bool) -> None:
    with promptly(engine, checkpoint=checkpoint) as conn:
        conn.exec_driver_sql("INSERT INTO t (body) VALUES (?)", [(PAGE,)] * rows)


def _pages(db: Path) -> int:
    return db.stat().st_size // 4096


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one())


def test_a_commit_past_the_log_limit_checkpoints_unless_told_not_to(tmp_path: Path) -> None:
    engine, db = _engine(tmp_path)
    before = _pages(db)
    _write(engine, 1200, checkpoint=False)
    assert _pages(db) == before  # all in the log: the database file not written
    assert _count(engine) == 1200  # committed all the same
    with engine.connect() as conn:  # the pooled connection checkpoints as the others do
        raw = conn.connection.driver_connection
        assert raw is not None
        assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == AUTOCHECKPOINT_PAGES
    _write(engine, 1200, checkpoint=True)  # SQLite's own checkpoint, in the commit
    assert _pages(db) > before + 2000


def test_the_checkpointer_copies_the_log_after_a_nudge_and_at_close(tmp_path: Path) -> None:
    engine, db = _engine(tmp_path)
    checkpoints = Checkpointer(engine, pause=0, idle_seconds=0.2)
    before = _pages(db)
    _write(engine, 1200, checkpoint=False)
    checkpoints.nudge()
    deadline = time.monotonic() + 10
    while not checkpoints.checkpoints and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _pages(db) > before + 1000 and checkpoints.checkpoints >= 1
    deadline = time.monotonic() + 10
    while checkpoints._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpoints._thread is None  # ended when idle; a nudge starts another
    grown = _pages(db)
    _write(engine, 1200, checkpoint=False)
    checkpoints.nudge()
    checkpoints.close()
    assert _pages(db) > grown + 1000  # the last checkpoint, at close
    assert not any(t.name == "syncline-checkpoint" and t.is_alive()
                   for t in threading.enumerate())
    assert _count(engine) == 2400


def test_a_long_log_is_restarted_without_waiting_for_the_write_lock(tmp_path: Path) -> None:
    """Under a steady load a PASSIVE checkpoint never catches up with the writer (which
    appends while it copies), so SQLite would never reuse the log from its start and its
    file would grow as long as the load lasts (80 MB in 15 s of the bench): past
    ``restart_pages`` a RESTART checkpoint follows, with no busy wait for the write lock."""
    engine, _ = _engine(tmp_path)
    said: list[str] = []

    @event.listens_for(engine, "connect")
    def _trace(dbapi: Any, _record: Any) -> None:
        dbapi.set_trace_callback(said.append)

    engine.dispose()  # new connections, traced
    checkpoints = Checkpointer(engine, restart_pages=100, idle_seconds=0.05)
    _write(engine, 50, checkpoint=False)
    checkpoints.checkpoint()
    said.clear()
    _write(engine, 10, checkpoint=False)
    checkpoints.committed()
    assert not any("RESTART" in s for s in said)  # short: left to go on
    _write(engine, 300, checkpoint=False)
    checkpoints.checkpoint()
    said.clear()
    with engine.begin() as other:  # another writer holds the lock: tried after the next
        other.exec_driver_sql("INSERT INTO t (body) VALUES ('other')")
        checkpoints.committed()
    assert "PRAGMA wal_checkpoint(RESTART)" in said
    said.clear()
    _write(engine, 10, checkpoint=False)
    checkpoints.committed()  # right after a commit of the receive writer: the log restarted
    restart = said.index("PRAGMA wal_checkpoint(RESTART)")
    assert said[restart - 1] == "PRAGMA busy_timeout=0"  # the lock only if free, no waiting
    assert said[restart + 1].startswith("PRAGMA busy_timeout=")  # and the wait restored
    said.clear()
    _write(engine, 10, checkpoint=False)
    checkpoints.committed()
    assert not any("RESTART" in s for s in said)  # once
    checkpoints.close()
    assert _count(engine) == 381


def test_only_sqlite_files_have_one(tmp_path: Path) -> None:
    assert checkpointer_for(create_engine("sqlite://")) is None
    assert checkpointer_for(create_engine("postgresql+psycopg://u@127.0.0.1/x")) is None
    assert checkpointer_for(make_engine(f"sqlite:///{tmp_path / 'f.db'}")) is not None
