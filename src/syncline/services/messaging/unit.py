"""A processor's unit of work (`processor.apply_batch`): the batch, plus what applying it
keeps track of — the prerequisites messages wait for, the messages as receiving parsed them,
the rows stored as applied already, whether it is the careful run, the first try's telemetry."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select

from syncline.adapters.db.tables import parked
from syncline.services.messaging.unit_of_work import Batch


def _data(raw: str) -> Any:
    """A stored message's ``data``: orjson reads what receiving accepted as json would (it
    accepted no integer beyond 64 bits, no non-finite number); anything else, json."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        message = json.loads(raw)
    return message["data"]


def data_of(batch: Batch, row: Any) -> Any:
    """The row's ``data``: as receiving parsed it when the batch was handed that
    (`apply_batch`'s ``parsed``: used once), else read from the stored text."""
    parsed = batch.parsed if isinstance(batch, Unit) else None
    message = parsed.pop(row.id, None) if parsed else None
    return message["data"] if message is not None else _data(row.raw)


def data_all(batch: Batch, rows: list[Any]) -> list[tuple[str, Any]]:
    """``(inbox id, data_of(batch, row))`` of each of `rows`, in order (a set's messages)."""
    parsed = batch.parsed if isinstance(batch, Unit) else None
    if not parsed:  # (it only shrinks)
        return [(r.id, _data(r.raw)) for r in rows]
    pop, out = parsed.pop, []
    for r in rows:
        message = pop(r.id, None)
        out.append((r.id, message["data"] if message is not None else _data(r.raw)))
    return out


@dataclass
class Unit(Batch):
    """A batch that also knows which prerequisites messages wait for (read once, kept up to
    date as it parks and releases): applying a message that provides something nobody waits
    for — nearly every one — then costs no query. A superset is harmless (one query)."""

    waiting: set[str] | None = None
    parsed: dict[str, Any] | None = None  # inbox id -> the message as receiving parsed it
    marked: set[str] | None = None  # inbox ids stored as applied already (`apply_batch`)
    careful: bool = True  # a savepoint per set and message (else `apply_batch`'s first try)
    observed: list[tuple[Callable[..., None], tuple[Any, ...]]] | None = None  # (the try's)


def observe_settled(batch: Batch, record: Callable[..., None], *args: Any) -> None:
    """Telemetry of a settled message: at once, or when the first try commits (a try that
    is rolled back counts nothing; the careful run after it counts)."""
    observed = batch.observed if isinstance(batch, Unit) else None
    if observed is None:
        record(*args)
    else:
        observed.append((record, args))


def unmark(batch: Batch, inbox_id: str) -> bool:
    """The row ends otherwise than applied (parked, failed): whether it was stored as
    applied (its mark then also clears the applied time it was stored with)."""
    if not isinstance(batch, Unit) or not batch.marked or inbox_id not in batch.marked:
        return False
    batch.marked.discard(inbox_id)
    return True


def marked(batch: Batch, inbox_id: str, note: str | None) -> bool:
    """The row is stored as applied, with no note, as applying it has just come to."""
    if note is not None or not isinstance(batch, Unit) or not batch.marked:
        return False
    return inbox_id in batch.marked


def waiting(batch: Batch) -> set[str] | None:
    if not isinstance(batch, Unit):
        return None
    if batch.waiting is None:
        batch.waiting = set(batch.conn.execute(select(parked.c.prerequisite).distinct().where(
            parked.c.released_at.is_(None))).scalars())
    return batch.waiting


class TriedWhole(Exception):
    """A batch tried with ``whole`` (`processor.apply_batch`) raised: the caller rolls its
    transaction back, and applies the batch again (carefully) or leaves it received."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error
