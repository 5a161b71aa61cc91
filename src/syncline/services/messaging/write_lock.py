"""SQLite's write lock taken promptly: what the API's receive writer uses (api/intake.py).

SQLite's own busy handler, while another connection (an applying worker, in this process or
another) holds the write lock, sleeps 1, 2, 5 … up to 100 ms between tries, so a writer could
wait up to 100 ms more than the other transaction lasted. `promptly` asks for the lock again
every millisecond instead (each try costs a few microseconds), up to the same timeout. While
it waits it marks the database's ``-waiting`` file (lock_signal.py), so an applying worker in
any process ends its batch early and lets it through.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from syncline.adapters.db.engine import BUSY_TIMEOUT_MS
from syncline.services.messaging.lock_signal import signal_for

POLL_SECONDS = 0.001  # between two tries for SQLite's write lock


@contextlib.contextmanager
def promptly(engine: Engine, *, poll: float = POLL_SECONDS,
             timeout: float = BUSY_TIMEOUT_MS / 1000) -> Iterator[Connection]:
    """``engine.begin()``, but on SQLite the write lock is asked for every ``poll`` seconds
    (at most ``timeout``; then the last "database is locked" is raised) instead of through
    SQLite's busy handler, which sleeps up to 100 ms between tries."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    signal = signal_for(engine)
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        raw.execute("PRAGMA busy_timeout=0")  # a try fails at once while the lock is held
        marked = False
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    trans = conn.begin()  # BEGIN IMMEDIATE (adapters/db/engine.py)
                    break
                except OperationalError:
                    conn.rollback()
                    if signal is not None:  # tell an applying worker, in any process
                        signal.mark()
                        marked = True
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(poll)
            if marked and signal is not None:
                signal.clear()
                marked = False
            with trans:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # statements inside
                yield conn  # wait as usual (a checkpoint may hold the file for a moment)
        finally:
            if marked and signal is not None:  # it gave up waiting
                signal.clear()
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


__all__ = ["POLL_SECONDS", "promptly"]
