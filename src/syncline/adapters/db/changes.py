"""Whether anything was committed since: ``ChangeToken(engine)(conn)`` is a string that
changes whenever a write is committed to the database — by this process or another, to any
table — read in one cheap statement. What is kept between requests keyed on it
(services/kpis/cache.py) is dropped by any new fact, with nothing to enumerate: no list of
the tables a computation reads, which a new query would silently outgrow.

- PostgreSQL: the current snapshot, ``pg_current_snapshot()`` (xmin:xmax:ids in progress). A
  transaction that writes takes a transaction id; once it commits, the snapshot is another
  (its id has left the list in progress, or the next id is past it). Transaction ids are the
  server's, so a write to another database of the server (DBOS's) changes it too: a needless
  recomputation, never a stale answer. A transaction rolled back changes it as well.
- SQLite on a file: ``PRAGMA data_version`` of one connection kept for that alone (it runs
  nothing else). SQLite changes that value whenever *another* connection — of any process —
  commits a change to the file (a connection's own commits do not count; it makes none).
- SQLite in memory (or a URI filename): ``None``, "cannot tell": nothing may be kept.

Read the token *before* computing what is kept under it: a write committed in between then
only makes the kept value newer than its token, never older.
"""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import Connection, Engine, text

from syncline.adapters.db.engine import sqlite_file


class ChangeToken:
    """The change token of ``engine``'s database (see the module doc)."""

    def __init__(self, engine: Engine) -> None:
        self._dialect = engine.dialect.name
        self._path = sqlite_file(engine)
        self._watcher: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __call__(self, conn: Connection) -> str | None:
        if self._dialect == "postgresql":
            return str(conn.execute(text("SELECT pg_current_snapshot()::text")).scalar())
        if self._path is None:
            return None
        with self._lock:
            if self._watcher is None:
                self._watcher = sqlite3.connect(self._path, check_same_thread=False,
                                                isolation_level=None)
            return str(self._watcher.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None
