"""Group commit of `POST /v1/events`: one writer, one transaction for every waiting request.

Each request hands its messages to the app's `Intake` and awaits its receipts. One writer
thread takes every request waiting when it is free, stores all their messages in one
transaction (the ``store`` function: ``receive_many`` in a unit of work), commits, and only
then answers each request. An answer still means the raw message is committed; but N
concurrent requests cost one ``BEGIN IMMEDIATE``, one look-up of known ids, one
``max(seq)``, two multi-row inserts and one ``COMMIT`` instead of N of each, and the API's
requests no longer compete among themselves for SQLite's one write lock — where each waiter
slept in SQLite's busy handler (1, 2, 5 … 100 ms naps) and latency grew with the load. This is
the database's own group commit, done one level up (PostgreSQL's ``commit_delay``, InnoDB's
binary-log group commit): no request waits for a timer; a group is simply what arrived while
the previous group was being written.

A group that fails (a database error) is rolled back whole and each of its requests is then
stored in a transaction of its own, so a failure is only the failing request's. A request
whose caller sent a W3C ``traceparent`` (when tracing is on) joins a group like any other:
its span context goes with each of its messages to the store (``parents``), so its messages'
receive spans continue the caller's trace while the others' do not.

The writer prepares (parses and validates) a group's messages before it takes the write lock,
so the lock is held only to store them. On SQLite it takes the lock ``promptly``: SQLite's own
busy handler, while another connection (an applying worker, in this process or another) holds
the lock, sleeps 1, 2, 5 … up to 100 ms between tries, so a request could wait up to 100 ms
more than the other transaction lasted; the writer instead asks for the lock again every
millisecond (each try costs a few microseconds), up to the same 30 s, then answers 503 as
before. Only the API's writer does this: the others keep SQLite's waiting, and so yield to it.

The writer starts with the first request and ends after ``idle_seconds`` without one (an app
that is never shut down — a test client without its context — leaves no thread behind);
``close()`` ends it at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import Context

from syncline.services.messaging.inbox import Receipt

Store = Callable[[Sequence[Any], Sequence[Context | None]], list[Receipt]]  # items, parents
MAX_GROUP = 5000  # messages in one transaction (a request is never split)


@dataclass(slots=True)
class _Job:
    items: Sequence[Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Receipt]]
    parent: Context | None = None


def _answer(job: _Job, receipts: list[Receipt] | None, error: BaseException | None) -> None:
    def settle() -> None:
        if job.future.done():  # the caller went away; what was stored stays stored
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(receipts or [])

    with contextlib.suppress(RuntimeError):  # the caller's loop closed: nobody waits
        job.loop.call_soon_threadsafe(settle)


class Intake:
    def __init__(self, store: Store, *, idle_seconds: float = 2.0,
                 max_group: int = MAX_GROUP) -> None:
        self.store = store
        self.idle_seconds = idle_seconds
        self.max_group = max_group
        self.groups = 0  # transactions committed (figures for tests and the bench)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._submitted = self._answered = 0  # requests handed in, and answered
        self._turn = threading.Condition()

    async def receive(self, items: Sequence[Any], parent: Context | None = None
                      ) -> list[Receipt]:
        """Store ``items`` (committed when this returns); their receipts, in order."""
        loop = asyncio.get_running_loop()
        job = _Job(items, loop, loop.create_future(), parent)
        with self._lock, self._turn:
            self._submitted += 1
            self._queue.put(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="syncline-intake",
                                                daemon=True)
                self._thread.start()
        return await job.future

    def waiting(self) -> bool:
        """Requests handed in and not yet answered: what an applying worker in the same
        process asks during its batch (``BackgroundWorker.yield_when``), to commit early and
        let them through."""
        return self._submitted > self._answered

    def let_through(self, timeout: float = 0.25) -> None:
        """Wait (at most ``timeout`` s) until the requests handed in so far are committed:
        what an applying worker in the same process calls between its batches
        (``BackgroundWorker.between_batches``), so that on SQLite, where both need the one
        write lock, the API's writer gets its turn after each batch instead of napping in
        SQLite's busy handler while the worker takes the lock again and again."""
        with self._turn:
            target = self._submitted
            self._turn.wait_for(lambda: self._answered >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Store what is waiting, then end the writer."""
        with self._lock:
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:  # a request put under the lock is seen here, or starts
                    if self._queue.empty():  # a new writer after this one has gone
                        self._thread = None
                        return
                continue
            if first is None:
                with self._lock:
                    self._thread = None
                return
            jobs = self._group(first)
            try:
                self._write(jobs)
            finally:
                with self._turn:
                    self._answered += len(jobs)
                    self._turn.notify_all()

    def _group(self, first: _Job) -> list[_Job]:
        """``first`` and the requests waiting behind it, up to ``max_group`` messages."""
        jobs, size = [first], len(first.items)
        while size < self.max_group:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._queue.put(job)  # the end, after this group
                break
            jobs.append(job)
            size += len(job.items)
        return jobs

    def _write(self, jobs: list[_Job]) -> None:
        if len(jobs) > 1:
            try:
                receipts = self.store([item for job in jobs for item in job.items],
                                      [job.parent for job in jobs for _ in job.items])
            except Exception:  # each request alone, below, says whose failure it was
                pass
            else:
                self.groups += 1
                start = 0
                for job in jobs:
                    _answer(job, receipts[start:start + len(job.items)], None)
                    start += len(job.items)
                return
        for job in jobs:
            try:
                mine = self.store(job.items, [job.parent] * len(job.items))
            except Exception as error:  # the request's own answer
                _answer(job, None, error)
            else:
                self.groups += 1
                _answer(job, mine, None)
