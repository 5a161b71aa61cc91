"""A writer waiting for SQLite's write lock is seen by an applying worker in any process
(services/messaging/lock_signal.py): `promptly` marks the database's ``-waiting`` file while
it waits and clears it once it holds the lock; the worker's batch ends early on the mark."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.messaging import processor
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.lock_signal import FRESH_SECONDS, SUFFIX, LockSignal, signal_for
from syncline.services.messaging.outcomes import Stats
from syncline.services.messaging.write_lock import promptly
from tests.conftest import fixed_clock
from tests.services.test_set_apply import STREAM


def _until(check: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.002)
    return False


def test_a_mark_says_waiting_until_cleared_or_old(tmp_path: Path) -> None:
    signal = LockSignal(tmp_path / "s.db")
    assert signal.path == tmp_path / f"s.db{SUFFIX}"
    assert not signal.waiting()
    signal.mark()
    assert signal.waiting()
    assert LockSignal(tmp_path / "s.db").waiting()  # another opening of the file sees it
    signal.clear()
    assert not signal.waiting()
    old = time.time_ns() - int(FRESH_SECONDS * 2e9)  # a writer that died waiting
    signal._map[:8] = old.to_bytes(8, "little")
    assert not signal.waiting()


def test_no_signal_without_a_file() -> None:
    assert signal_for(create_engine("sqlite://")) is None
    assert signal_for(create_engine("postgresql+psycopg://u@127.0.0.1/x")) is None


def test_promptly_marks_while_it_waits_and_clears_when_it_holds_the_lock(
        tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    system = bootstrap(Settings(database_url=f"sqlite:///{db}"), durable=False)
    signal = signal_for(system.engine)
    assert signal is not None
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # an applying worker's batch holds the lock
    done = threading.Event()

    def write() -> None:
        with promptly(system.engine) as conn:
            conn.exec_driver_sql("SELECT 1")
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert _until(signal.waiting), "the waiting writer did not mark the file"
        assert not done.is_set()
    finally:
        holder.execute("COMMIT")
    thread.join(10)
    assert done.is_set()
    assert not signal.waiting()  # it holds (then held) the lock: the mark is cleared
    holder.close()
    system.engine.dispose()


def test_a_writer_in_another_process_is_seen(tmp_path: Path) -> None:
    """The API's writer in its own process waits for the lock; this process, the worker's,
    sees the mark, and sees it cleared once the writer got through."""
    db = tmp_path / "x.db"
    system = bootstrap(Settings(database_url=f"sqlite:///{db}"), durable=False)
    signal = signal_for(system.engine)
    assert signal is not None
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    code = ("from syncline.adapters.db.engine import make_engine\n"
            "from syncline.services.messaging.write_lock import promptly\n"
            f"engine = make_engine('sqlite:///{db}')\n"
            "with promptly(engine) as conn: conn.exec_driver_sql('SELECT 1')\n"
            "print('stored')\n")
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert _until(signal.waiting, 30), "the other process's writer was not seen waiting"
    finally:
        holder.execute("COMMIT")
    out, _ = writer.communicate(timeout=30)
    assert writer.returncode == 0 and "stored" in out
    assert _until(lambda: not signal.waiting())
    holder.close()
    system.engine.dispose()


def test_an_apply_batch_ends_early_on_the_mark(tmp_path: Path) -> None:
    """`syncline worker` asks the mark between sets (cli/workers.py): marked, its batch
    commits after the first set or message and leaves the rest received."""
    db = tmp_path / "a.db"
    system = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                       durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, STREAM, now=fixed_clock())
    signal = signal_for(system.engine)
    assert signal is not None
    with system.engine.begin() as conn:
        rows = conn.execute(select(inbox).where(inbox.c.status == "received")
                            .order_by(inbox.c.seq)).all()
        signal.mark()  # as the API's writer in another process does while it waits
        settled = processor.apply_batch(conn, rows, system.ref, fixed_clock(), Stats(),
                                        yield_when=signal.waiting)
    assert 0 < settled < len(rows)
    with system.engine.connect() as conn:
        left = conn.execute(select(inbox.c.id).where(inbox.c.status == "received")).all()
    assert len(left) == len(rows) - settled
    signal.clear()
    system.engine.dispose()


def test_syncline_worker_on_sqlite_applies_with_the_signal(tmp_path: Path) -> None:
    """`syncline worker --once` on an SQLite file: it opens the file's mark and applies
    everything received. (A process of its own: the command configures the process's
    logging, which a test in this process must not inherit.)"""
    import json

    db = tmp_path / "cli.db"
    system = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                       durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, STREAM, now=fixed_clock())
    system.engine.dispose()
    result = subprocess.run(
        [sys.executable, "-m", "syncline", "worker", "--once", "--no-deliver",
         "--database-url", f"sqlite:///{db}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["applied"] > 0 and summary["errors"] == 0
    assert Path(f"{db}{SUFFIX}").exists()


def test_only_the_last_few_marks_stay_open(tmp_path: Path) -> None:
    """Each mark holds a file descriptor: a process opening many databases keeps only the
    last `KEPT` (a test run would otherwise run out of descriptors)."""
    import gc
    import os

    from syncline.services.messaging import lock_signal

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    for n in range(lock_signal.KEPT):  # fill the cache first
        signal_for(create_engine(f"sqlite:///{tmp_path / f'warm{n}.db'}"))
    gc.collect()
    before = open_fds()
    for n in range(100):
        assert signal_for(create_engine(f"sqlite:///{tmp_path / f'many{n}.db'}")) is not None
    gc.collect()
    assert len(lock_signal._signals) == lock_signal.KEPT
    assert open_fds() <= before + 2
