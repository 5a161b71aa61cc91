"""WAL checkpoints beside the API's receive writer rather than inside its commits (SQLite).

SQLite copies its write-ahead log back into the database file (a *checkpoint*) in the commit
that takes the log past 1,000 pages (``wal_autocheckpoint``): that commit then writes every
page again and waits for two fsyncs before it returns. For the API's receive writer
(api/intake.py) every request of the group waits for that commit's return, and the next group
waits behind it: measured with batches of 500 events (bench/http.py, `receive`), the writer
spent about a quarter of its time in those checkpoints, and receiving was 30-40 % faster with
them elsewhere (docs/adr/0019).

So the receive writer commits with the automatic checkpoint off (`write_lock.promptly`,
``checkpoint=False``) and nudges a `Checkpointer`: a thread of its own that runs a PASSIVE
checkpoint on its own connection after the commits, at most once every ``pause`` seconds
(commits meanwhile are gathered into the next). SQLite releases the GIL while it copies, so
the checkpoint runs beside the next group's work instead of before it. The log is the same
log: a commit is as durable as before (WAL with ``synchronous=NORMAL``: a commit is in the
log when it returns, fsynced at the next checkpoint, as before), and a checkpoint never
drops a committed page. Every other connection (the workers', the console's) keeps SQLite's
own automatic checkpoint.

A PASSIVE checkpoint never takes the write lock, so under a steady load the receive writer
has always appended more by the time it ends, and SQLite reuses the log from its start only
when a checkpoint has copied all of it before the next write begins: the log file grew for
as long as the load lasted (80-100 MB in 15 s of the bench). So once a checkpoint finds the
log longer than ``restart_pages``, the receive writer, right after its next commit (when the
write lock is free), runs a RESTART checkpoint itself (`committed`): it copies the little
appended since the last one and has the log reused from its start — a few times a second at
full load, instead of a checkpoint in every fourth commit. It never waits for the lock: if
another writer holds it, it is tried again after the next commit.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

from syncline.adapters.db.engine import BUSY_TIMEOUT_MS, sqlite_file

log = logging.getLogger(__name__)

PAUSE_SECONDS = 0.05  # between two checkpoints: about SQLite's 1,000 pages at full speed
RESTART_PAGES = 2000  # a log longer than this (16 MB of 4 kB pages) is restarted


class Checkpointer:
    """PASSIVE checkpoints of one SQLite database in a thread, after the commits it is told
    of (`nudge`). The thread starts with the first nudge and ends after ``idle_seconds``
    without one, or at `close` (after a last checkpoint)."""

    def __init__(self, engine: Engine, *, pause: float = PAUSE_SECONDS,
                 restart_pages: int = RESTART_PAGES, idle_seconds: float = 2.0) -> None:
        self.engine = engine
        self.pause = pause
        self.restart_pages = restart_pages
        self.idle_seconds = idle_seconds
        self.checkpoints = 0  # run so far (figures for tests)
        self._due = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._restart = False  # the log is long: the next commit restarts it

    def committed(self) -> None:
        """What the receive writer calls after each commit made without a checkpoint: the
        log restarted now if it has grown long, and a checkpoint due."""
        if self._restart:
            self._restart = False
            self.restart()
        self.nudge()

    def restart(self) -> None:
        """A RESTART checkpoint if the write lock is free (else it is tried again after the
        next commit): the log is copied to its end and reused from its start."""
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA busy_timeout=0")
                try:
                    busy, _, _ = raw.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                finally:
                    raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except Exception:
            log.exception("WAL restart failed; the next commit retries")
            busy = 1
        if busy:
            self._restart = True

    def nudge(self) -> None:
        """A commit was made without a checkpoint: one is due."""
        self._due.set()
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="syncline-checkpoint",
                                                daemon=True)
                self._thread.start()

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint now; a log found longer than ``restart_pages`` is restarted
        after the next commit (never raises: a failed one is logged, the next retries)."""
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.driver_connection
                assert raw is not None
                _, pages, _ = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except Exception:
            log.exception("WAL checkpoint failed; the next one retries")
            return
        self.checkpoints += 1
        if pages > self.restart_pages:
            self._restart = True

    def close(self, timeout: float = 10.0) -> None:
        """End the thread after a last checkpoint of what was committed."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._due.set()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            if not self._due.wait(self.idle_seconds):
                with self._lock:
                    if not self._due.is_set():  # a nudge after this starts a new thread
                        self._thread = None
                        return
                continue
            self._due.clear()
            self.checkpoint()
            if self._closed:
                with self._lock:
                    self._thread = None
                return
            time.sleep(self.pause)  # commits meanwhile are gathered into the next one


def checkpointer_for(engine: Engine) -> Checkpointer | None:
    """A `Checkpointer` for a SQLite file's engine; None for PostgreSQL (no such log) and an
    in-memory database."""
    return Checkpointer(engine) if sqlite_file(engine) is not None else None


__all__ = ["PAUSE_SECONDS", "RESTART_PAGES", "Checkpointer", "checkpointer_for"]
