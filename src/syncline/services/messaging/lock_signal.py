"""A request waiting for SQLite's write lock, seen by an applying worker in another process.

`serve`'s own worker learns from the API's receive writer, in its process, that a request
waits (``Intake.waiting``) and ends its apply batch early (processor ``yield_when``). A
`syncline worker` beside `serve --no-worker` could not: it applied whole batches of up to a
thousand messages while the API's requests queued behind the lock. Here the waiting is told
through a small file beside the database (``<database>-waiting``, 8 bytes, memory-mapped by
every process that opens it):

- a writer taking the lock ``promptly`` (write_lock.py), each time a try finds it held,
  writes the time (Unix nanoseconds) into it, and writes 0 once it holds the lock;
- an applying worker asks ``waiting()`` between sets: a mark younger than `FRESH_SECONDS`
  says a writer is waiting (an older one is a writer that died waiting, and is ignored);
  between batches ``let_through()`` waits, at most a moment, until the mark is cleared, so
  the worker's next ``BEGIN IMMEDIATE`` does not take the lock back first.

Two writers may clear each other's mark: the one still waiting marks again at its next try,
a millisecond later. Only SQLite files have one (PostgreSQL has no database-wide write lock;
an in-memory database has no file and one process).
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from sqlalchemy import Engine

from syncline.adapters.db.engine import sqlite_file

FRESH_SECONDS = 0.25  # a mark older than this was left by a writer that stopped waiting
SUFFIX = "-waiting"
_SIZE = 8


class LockSignal:
    """The ``<database>-waiting`` mark of one SQLite file."""

    def __init__(self, database: Path) -> None:
        self.path = Path(str(database) + SUFFIX)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)

    def _read(self) -> int:
        return int.from_bytes(self._map[:_SIZE], "little")

    def mark(self) -> None:
        """A writer is waiting for the lock now."""
        self._map[:_SIZE] = time.time_ns().to_bytes(_SIZE, "little")

    def clear(self) -> None:
        """The writer holds the lock: nobody waits (as far as it knows)."""
        self._map[:_SIZE] = bytes(_SIZE)

    def waiting(self) -> bool:
        """Does a writer wait for the write lock (marked within `FRESH_SECONDS`)?"""
        marked = self._read()
        return marked != 0 and time.time_ns() - marked < FRESH_SECONDS * 1e9

    def let_through(self, timeout: float = FRESH_SECONDS, poll: float = 0.0005) -> None:
        """Between two apply batches: while a writer waits, wait (at most ``timeout``) for it
        to take the lock, so the next batch does not take it back first."""
        deadline = time.monotonic() + timeout
        while self.waiting() and time.monotonic() < deadline:
            time.sleep(poll)


# The marks opened by this process, the most recently asked last. A mapping holds a file
# descriptor, so only the last few are kept here (a process opening many databases, as a
# test run does, would run out): an evicted mark is closed when nothing else holds it.
_signals: OrderedDict[str, LockSignal | None] = OrderedDict()
KEPT = 16
_lock = threading.Lock()


def signal_for(engine: Engine) -> LockSignal | None:
    """The waiting mark of ``engine``'s SQLite file, one per file and process; None for
    PostgreSQL and in-memory databases, or when the file's folder cannot hold it."""
    database = sqlite_file(engine)
    if database is None:
        return None
    key = str(database)
    with _lock:
        if key in _signals:
            _signals.move_to_end(key)
        else:
            try:
                _signals[key] = LockSignal(Path(key))
            except OSError:  # a read-only folder: receive still works, without the signal
                _signals[key] = None
            while len(_signals) > KEPT:
                _signals.popitem(last=False)
        return _signals[key]


__all__ = ["FRESH_SECONDS", "SUFFIX", "LockSignal", "signal_for"]
