"""A dry run of a stream: read it as a sync would, store nothing.

``preview`` reads the stream from its stored cursor (or ``since``), checks every event as the
inbox would (its schema and content), and keeps the first few events and refusals to show
with the counts; no transaction is opened and the cursor does not move. What it reports as
accepted is what a sync would store as received (less any duplicates of what is stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from syncline.connectors.sdk.base import Stream
from syncline.connectors.sdk.errors import VendorError
from syncline.services.connectors import cursors
from syncline.services.messaging.content import content_problems


@dataclass
class Preview:
    stream: str
    cursor_before: str | None
    cursor_after: str | None = None
    batches: int = 0
    events: int = 0
    refusals: int = 0
    first_events: list[dict[str, Any]] = field(default_factory=list)
    first_refusals: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def preview(engine: Engine, connector: str, stream: Stream, *, since: str | None = None,
            keep: int = 5) -> Preview:
    """Read ``stream`` without storing: counts, the first ``keep`` events and the first
    ``4 * keep`` refusal reasons (an event the schema refuses is counted as a refusal)."""
    from syncline.schemas import validate_event

    with engine.connect() as conn:
        stored = cursors.read(conn, connector, stream.name)
    result = Preview(stream.name, stored, stored)
    try:
        for batch in stream.read(since if since is not None else stored):
            result.batches += 1
            for event in batch.events:
                problems = content_problems(event) or validate_event(event)
                if problems:
                    result.refusals += 1
                    if len(result.first_refusals) < 4 * keep:
                        result.first_refusals.append(
                            f"{event.get('id')}: " + "; ".join(map(str, problems[:3])))
                    continue
                result.events += 1
                if len(result.first_events) < keep:
                    result.first_events.append(event)
            for refusal in batch.refusals:
                result.refusals += 1
                if len(result.first_refusals) < 4 * keep:
                    result.first_refusals.append(refusal.reason)
            if batch.cursor is not None:
                result.cursor_after = batch.cursor
    except VendorError as err:
        result.error = str(err)
    return result
