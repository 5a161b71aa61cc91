"""Leases: several processor workers on one PostgreSQL database, order per subject kept.

The result must be the one a single process gives when it applies the inbox in arrival order
(``seq``). Two kinds of message make that possible without a coordinator:

* **Partitioned** types (``PARTITIONED``: approved and rejected time and expenses, completed
  milestones — nearly all the volume) touch only their own business object and read
  reference data (projects, workers, rates, FX) that they never write. Two of them about
  different subjects commute, so they are applied in parallel: each belongs to partition
  ``md5(subject) mod PARTITIONS`` (`partition`), and a worker leases a partition for one
  batch with ``pg_try_advisory_xact_lock``. One worker at a time holds a partition and takes
  its messages in ``seq`` order, so the messages of one subject are applied in arrival order
  and never concurrently.
* **Ordered** types (every other type: deals, workers, rate cards, FX rates, amendments,
  project closes, and any type added later) change what the others read. Each one is a
  barrier: it is applied alone (an exclusive advisory lock that every partitioned batch holds
  shared) and only once everything that arrived before it is settled; partitioned messages
  that arrived after it wait until it is applied. So every result a partitioned message sees
  is the one it would see in arrival order, and parking and release (time waiting for its
  project) behave as in one process. The worker that holds the barrier also applies the
  short runs of partitioned messages between ordered ones (fewer than ``stretch``), in
  order: where reference data is dense, one worker applies as one process would.

A lease is the batch's transaction: it ends at commit, or when the worker dies (PostgreSQL
drops a closed connection's transaction and its locks at once) or stops talking for
``lease_seconds`` (``idle_in_transaction_session_timeout``; or, stopped while sending a
pipeline, which the server does not count as idle, ended by a worker blocked that long:
`end_stalled`); the batch is then rolled back,
its messages stay ``received`` and another worker takes them. Nothing is applied twice, since
the inbox mark commits with the state it made.

Everything here is for PostgreSQL. SQLite has one writer at a time: one process applies, and
these functions are not called there (``is_postgres``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, text
from sqlalchemy.exc import DBAPIError

from syncline.adapters.db.tables import inbox

PARTITIONS = 16  # fixed: every worker must agree on it, so it is not a setting

PARTITIONED = frozenset({
    "time.approved", "time.rejected", "expense.approved", "expense.rejected",
    "milestone.completed",
})

# Two-key advisory locks (int4, int4): the class "SYNC" (also the prefix of the receive lock's
# int8 key, a separate key space) with the barrier at 0; partitions use the next class.
_LOCK_CLASS = 0x5359_4E43
_BARRIER = 0
_PARTITION_CLASS = _LOCK_CLASS + 1

_PARTITIONED_SQL = ", ".join(f"'{t}'" for t in sorted(PARTITIONED))
_ORDERED = f"(inbox.type IS NULL OR inbox.type NOT IN ({_PARTITIONED_SQL}))"


def partition(subject: str | None, inbox_id: str) -> int:
    """A message's partition: its subject (without one, its own inbox id) hashed with md5,
    the same in every worker (Python's own ``hash`` is salted per process)."""
    key = subject if subject else inbox_id
    return int(hashlib.md5(key.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) \
        % PARTITIONS


def is_postgres(bind: Connection | Engine) -> bool:
    return bind.dialect.name == "postgresql"


def set_lease(conn: Connection, seconds: int) -> None:
    """End this transaction (and free its leases) when its worker says nothing for
    ``seconds``: a hung worker does not hold a partition or the barrier for ever."""
    conn.execute(text("SELECT set_config('idle_in_transaction_session_timeout', :v, true)"),
                 {"v": f"{max(1, int(seconds))}s"})


# A session inside a statement (state active) waiting for its client (ClientRead): a worker
# stopped while it was sending a pipeline (psycopg sends an executemany as one, and the
# server waits for its Sync). PostgreSQL's idle-in-transaction timeout never counts such a
# session as idle, so the lease would never run out; a blocked worker ends it (below).
_STALLED = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND state = 'active' AND wait_event_type = 'Client' "
    "AND wait_event = 'ClientRead' AND now() - state_change > make_interval(secs => :s)")


def end_stalled(conn: Connection, seconds: float) -> list[int]:
    """Terminate the sessions of this database stalled inside a statement, waiting for their
    client, for more than ``seconds`` (a lease): their transactions roll back and free their
    leases, as the idle-in-transaction timeout does for a worker silent between statements.
    Returns their process ids (a session of another role is not ours to end: left)."""
    ended = []
    for pid in conn.execute(_STALLED, {"s": float(seconds)}).scalars():
        try:
            with conn.begin_nested():
                if conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar():
                    ended.append(int(pid))
        except DBAPIError:  # insufficient privilege: another role's session
            continue
    return ended


def hold_alone(conn: Connection) -> None:
    """Wait until no other batch runs, then keep every other one out until commit (the
    exclusive barrier). Single-process apply, the sweep and replays take it on PostgreSQL, so
    they are safe beside leased workers. A no-op on SQLite (its write lock does it)."""
    if is_postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"),
                     {"c": _LOCK_CLASS, "k": _BARRIER})


def try_alone(conn: Connection) -> bool:
    """The exclusive barrier, if no partitioned batch holds it right now."""
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:c, :k)"),
                             {"c": _LOCK_CLASS, "k": _BARRIER}).scalar())


def hold_shared(conn: Connection) -> None:
    """The barrier, shared with other partitioned batches (waits while one runs alone)."""
    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:c, :k)"),
                 {"c": _LOCK_CLASS, "k": _BARRIER})


def head(conn: Connection) -> Any | None:
    """The oldest received message: ``(seq, type)``, or None when nothing waits."""
    return conn.execute(select(inbox.c.seq, inbox.c.type).where(inbox.c.status == "received")
                        .order_by(inbox.c.seq).limit(1)).first()


def ordered_run(conn: Connection, limit: int, *, stretch: int) -> list[Any]:
    """Under the exclusive barrier: the received messages in arrival order, up to the first
    run of at least ``stretch`` partitioned messages in a row (those are worth applying in
    parallel once the barrier is lifted). Shorter runs between ordered messages are applied
    here, alone and in order, as one process would: parallel batches of a few messages cost
    more than they save. Empty when the oldest received message starts such a run (one
    released meanwhile): the caller goes round again."""
    rows = conn.execute(select(inbox).where(inbox.c.status == "received")
                        .order_by(inbox.c.seq).limit(limit)).all()
    run: list[Any] = []
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j].type in PARTITIONED:
            j += 1
        if j - i >= stretch:
            break
        run.extend(rows[i:max(j, i + 1)])
        i = max(j, i + 1)
    return run


def claim(conn: Connection, limit: int, *, target: int) -> list[Any]:
    """Lease partitions (under the shared barrier) and return their received messages that
    may be applied now, in arrival order: those older than the oldest received ordered
    message. Partitions are tried oldest work first; leasing stops once about ``target``
    messages are held, leaving the rest to other workers. Empty when every partition with
    work is leased by another worker (or nothing may be applied before a barrier)."""
    # one statement, one snapshot: the oldest received ordered message, or (none waiting)
    # one past the newest message, so that nothing received later is taken in this batch
    barrier = int(conn.execute(text(
        f"SELECT coalesce((SELECT min(seq) FROM inbox WHERE status = 'received' AND {_ORDERED}),"
        " (SELECT coalesce(max(seq), 0) + 1 FROM inbox))")).scalar_one())
    window = conn.execute(text(
        "SELECT seq, subject, id FROM inbox WHERE status = 'received' AND seq < :barrier "
        "ORDER BY seq LIMIT :window"), {"barrier": barrier, "window": max(limit, target) * 2})
    work: dict[int, list[int]] = {}  # partition -> its seqs, oldest work first
    for seq, subject, inbox_id in window:
        work.setdefault(partition(subject, inbox_id), []).append(int(seq))
    held: list[int] = []
    for part, seqs in work.items():
        if conn.execute(text("SELECT pg_try_advisory_xact_lock(:c, :p)"),
                        {"c": _PARTITION_CLASS, "p": part}).scalar():
            held.extend(seqs)
            if len(held) >= target:
                break
    if not held:
        return []
    # still received now that the partitions are held (another worker may have applied some
    # in between: they are not taken again), in arrival order
    query = select(inbox).where((inbox.c.status == "received")
                                & inbox.c.seq.in_(bindparam("seqs", expanding=True)))
    return list(conn.execute(query.order_by(inbox.c.seq).limit(limit),
                             {"seqs": sorted(held)[:limit]}).all())
