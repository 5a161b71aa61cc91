"""The loops that drain the inbox: `process_pending` applies every received message in
arrival order, one batch (`processor.apply_batch`, one transaction) at a time, until none is
left; `process_leased` does the same beside other workers on one PostgreSQL database, each
batch under a lease (`leases`: partitions by subject, barriers for ordered runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, select

from syncline.adapters.db.tables import inbox
from syncline.domain.reference import ReferenceData
from syncline.services.clock import Clock
from syncline.services.messaging import leases
from syncline.services.messaging.outcomes import Stats
from syncline.services.messaging.processor import apply_batch
from syncline.services.messaging.unit import TriedWhole

BATCH_SIZE = 1000
# A batch yields to a waiting request only once it has applied this long: every batch pays a
# fixed cost (its transaction, the rate cards, the parked keys: about 1.3 ms of CPU, measured
# applying one message a batch against a thousand), so yielding after every message gave a
# busy API batches of one; a few milliseconds bound what a request waits and amortize it.
YIELD_AFTER = 0.005
# After a batch that yielded to a waiting writer, the next reads at most this many rows, and
# each batch that runs to its end without yielding doubles it again up to the batch size: a
# batch reads and parses all its rows before applying the first, so while requests keep
# arriving a batch of a thousand was mostly read to be cut short (and read again), and its
# sets (up to `processor.YIELD_SET`) ran long before the next question; docs/adr/0019.
CONTENDED_BATCH = 64
Progress = Callable[[int], None]


def _after(yield_when: Callable[[], bool] | None, seconds: float) -> Callable[[], bool] | None:
    """``yield_when`` asked only once the batch has run ``seconds`` (from now)."""
    if yield_when is None or seconds <= 0:
        return yield_when
    started = time.monotonic()
    return lambda: time.monotonic() - started >= seconds and yield_when()


def process_pending(engine: Engine, ref: ReferenceData, clock: Clock, *,
                    batch_size: int = BATCH_SIZE, progress: Progress | None = None,
                    yield_when: Callable[[], bool] | None = None,
                    yield_after: float = YIELD_AFTER) -> Stats:
    """Apply every received message, in arrival order, until none is left. ``yield_when``:
    a batch that has run ``yield_after`` seconds ends early (commits) when it says a request
    waits for the write lock (`processor.apply_batch`); the rest is applied in the next,
    which reads at most `CONTENDED_BATCH` rows (then twice as many after each batch that
    did not yield, up to ``batch_size``).

    A batch's transaction holds nothing but the batch, so its first try takes no savepoint
    (`apply_batch(whole=True)`; see `straight.py` for what a savepoint costs on SQLite): if a
    handler raises, the transaction is rolled back and the same rows are applied again in a
    new one, carefully (a savepoint per set and message)."""
    stats = Stats()
    size = batch_size
    careful = False  # after a batch that raised: the same rows again, carefully
    while True:
        try:
            with engine.begin() as conn:
                leases.hold_alone(conn)  # PostgreSQL: beside leased workers, it runs alone
                rows = conn.execute(select(inbox).where(inbox.c.status == "received")
                                    .order_by(inbox.c.seq).limit(size)).all()
                if not rows:
                    return stats
                settled = apply_batch(conn, rows, ref, clock(), stats,
                                      yield_when=_after(yield_when, yield_after),
                                      whole=True, careful=careful)
        except TriedWhole:  # the transaction held only this batch: nothing is lost
            careful = True
            continue
        careful = False
        if progress:
            progress(settled)
        if yield_when is not None:  # smaller while a writer waits, larger again when not
            size = min(size, CONTENDED_BATCH) if settled < len(rows) else \
                min(batch_size, size * 2)


_EMPTY, _BLOCKED = 0, -1


def process_leased(engine: Engine, ref: ReferenceData, clock: Clock, *,
                   batch_size: int = BATCH_SIZE, progress: Progress | None = None,
                   lease_seconds: int = 60, patience: float | None = 1.0,
                   stop: Callable[[], bool] | None = None,
                   yield_when: Callable[[], bool] | None = None,
                   yield_after: float = YIELD_AFTER) -> Stats:
    """Apply received messages beside other workers on the same PostgreSQL database.

    Each batch is either a run of ordered messages applied alone or the partitioned messages
    of the partitions this worker leased (`leases`), so the state is the one arrival order
    gives and the messages of one subject are applied in order, never concurrently. Returns
    when nothing is left; when work is left but leased by others (or waits behind a barrier)
    for longer than ``patience`` seconds (None: wait until everything is applied); or when
    ``stop()`` says so, between batches. On SQLite: `process_pending` (one writer anyway),
    yielding the write lock when ``yield_when`` says a request waits for it (PostgreSQL
    has no such lock: there it is not asked).
    """
    if not leases.is_postgres(engine):
        return process_pending(engine, ref, clock, batch_size=batch_size, progress=progress,
                               yield_when=yield_when, yield_after=yield_after)
    stats = Stats()
    blocked_since: float | None = None
    last_look = 0.0
    pause = 0.005
    while not (stop is not None and stop()):
        done = _leased_batch(engine, ref, clock, batch_size, lease_seconds, stats)
        if done == _EMPTY:
            break
        if done > 0:
            blocked_since, pause = None, 0.005
            if progress:
                progress(done)
            continue
        now = time.monotonic()
        blocked_since = blocked_since if blocked_since is not None else now
        if patience is not None and now - blocked_since >= patience:
            break
        if now - blocked_since >= lease_seconds and now - last_look >= lease_seconds:
            last_look = now  # blocked a whole lease: is the holder stalled mid-statement?
            with engine.begin() as conn:
                leases.end_stalled(conn, lease_seconds)
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    return stats


def _leased_batch(engine: Engine, ref: ReferenceData, clock: Clock, batch_size: int,
                  lease_seconds: int, stats: Stats) -> int:
    """One batch under a lease: rows applied, or `_EMPTY` / `_BLOCKED`."""
    with engine.begin() as conn:
        leases.set_lease(conn, lease_seconds)
        first = leases.head(conn)
        if first is None:
            return _EMPTY
        share = max(1, batch_size // 4)  # enough messages to be worth a parallel batch
        if first.type in leases.PARTITIONED:
            leases.hold_shared(conn)
            rows = leases.claim(conn, batch_size, target=share)
        elif leases.try_alone(conn):
            rows = leases.ordered_run(conn, batch_size, stretch=share)
        else:
            return _BLOCKED
        if not rows:
            return _BLOCKED
        apply_batch(conn, rows, ref, clock(), stats)
        return len(rows)
