"""Run a connector's streams: each batch and its cursor are committed together.

A vendor error (``VendorError``, after the client's bounded retries) stops that stream with
the committed batches kept and the cursor where the last one left it; the run is recorded as
failed with the error (which names the vendor, the status and whether it is retryable) and
opens one IT exception, so a broken feed is seen without reading logs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from syncline.connectors.sdk.base import Stream
from syncline.connectors.sdk.errors import VendorError
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.services.clock import Clock
from syncline.services.connectors import cursors
from syncline.services.messaging.exceptions import raise_exception
from syncline.services.messaging.inbox import receive_many


@dataclass
class StreamResult:
    connector: str
    stream: str
    cursor_before: str | None
    cursor_after: str | None = None
    batches: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str | None = None
    rejected_reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, object]:
        return {"connector": self.connector, "stream": self.stream,
                "cursor_before": self.cursor_before, "cursor_after": self.cursor_after,
                "batches": self.batches, "accepted": self.accepted,
                "duplicates": self.duplicates, "rejected": self.rejected,
                "rejected_reasons": self.rejected_reasons[:20], "error": self.error}


_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(connector: str, stream: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((connector, stream), threading.Lock())


def run_stream(engine: Engine, connector: str, stream: Stream, *, clock: Clock,
               since: str | None = None,
               on_batch: Callable[[StreamResult], None] | None = None) -> StreamResult:
    """Read ``stream`` from its stored cursor (or ``since``) and store every batch.

    Runs of one stream take turns in a process (a burst of webhook wakes, a scheduled poll):
    each starts from the cursor the one before it left, so a slower run can never move the
    cursor back over a faster one's batches."""
    with _lock(connector, stream.name):
        return _run(engine, connector, stream, clock=clock, since=since, on_batch=on_batch)


def _run(engine: Engine, connector: str, stream: Stream, *, clock: Clock, since: str | None,
         on_batch: Callable[[StreamResult], None] | None) -> StreamResult:
    name = stream.name
    with engine.connect() as conn:
        stored = cursors.read(conn, connector, name)
    start = since if since is not None else stored
    result = StreamResult(connector, name, stored, stored)
    try:
        for batch in stream.read(start):
            now = clock()
            with engine.begin() as conn:
                receipts = receive_many(conn, [*batch.events, *batch.refusals], now=now)
                cursors.advance(conn, connector, name, batch.cursor, len(receipts), now)
            result.batches += 1
            for r in receipts:
                if r.status == "accepted":
                    result.accepted += 1
                elif r.status == "duplicate":
                    result.duplicates += 1
                else:
                    result.rejected += 1
                    result.rejected_reasons.extend(str(p) for p in r.problems)
            if batch.cursor is not None:
                result.cursor_after = batch.cursor
            if on_batch:
                on_batch(result)
    except VendorError as err:
        result.error = str(err)
        _record_failure(engine, connector, name, err, clock())
    cursors.finish(engine, connector, name, "ok" if result.ok else "failed", result.error,
                   clock())
    return result


def _record_failure(engine: Engine, connector: str, stream: str, err: Exception,
                    now: datetime) -> None:
    retryable = bool(getattr(err, "retryable", False))
    with engine.begin() as conn:
        raise_exception(conn, Problem(
            code="connector.sync_failed", domain=BusinessDomain.IT,
            severity=Severity.MEDIUM if retryable else Severity.HIGH,
            message=f"connector {connector} stream {stream} stopped: {err}",
            remediation=("The vendor may recover on its own; the next scheduled sync retries "
                         "from the stored cursor." if retryable else
                         "Fix the credentials, scopes or configuration named above, then run "
                         f"`syncline connectors check {connector}` and sync again; the cursor "
                         "did not move past anything unstored."),
            field=stream[:200], objects=(("connector", connector),),
        ), now=now)
