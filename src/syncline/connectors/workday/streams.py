"""The ``workers`` stream: the whole worker population as of now, every read.

Neither the RaaS report nor the REST resource has an incremental cursor that Syncline can
trust, so each read takes everything (RaaS: one response, the report's as-of prompt set to
today; REST: ``limit``/``offset`` pages) and relies on stable event ids: an unchanged worker
is a duplicate, a changed one a new version with a larger ``sequence`` (mapping.py). The
stored cursor is only the moment of the last complete read: it is written by a last, empty
batch after every record was stored, never in between.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from syncline.connectors.sdk.base import Batch
from syncline.connectors.sdk.errors import MappingError, VendorError
from syncline.connectors.sdk.events import content_id, envelope, refusal, rfc3339
from syncline.connectors.sdk.http import VendorClient
from syncline.connectors.sdk.paging import offset_pages
from syncline.connectors.workday.mapping import RECORD, WorkerRules, map_worker, record_id
from syncline.connectors.workday.settings import WorkdaySettings
from syncline.services.clock import Clock


class WorkersStream:
    name = "workers"
    description = "Workday workers (RaaS report or REST) → worker.upserted / worker.terminated"

    def __init__(self, client: VendorClient, settings: WorkdaySettings, source: str,
                 clock: Clock) -> None:
        self.client, self.settings, self.source, self.clock = client, settings, source, clock

    def read(self, cursor: str | None) -> Iterator[Batch]:
        now = self.clock()
        pages = self._report(now.date().isoformat()) if self.settings.source == "raas" \
            else self._rest()
        for records in pages:
            yield Batch(*to_events(records, self.settings.rules, self.source))
        yield Batch(cursor=rfc3339(now))

    def _report(self, as_of: str) -> Iterator[list[Any]]:
        s = self.settings
        params = {"format": "json", s.as_of_prompt: as_of, **s.prompts}
        body = self.client.get_json(s.report_path, params=params)
        entries = body.get(s.entries_key) if isinstance(body, dict) else None
        if entries is None:
            entries = [] if isinstance(body, dict) and not body else None
        if not isinstance(entries, list):
            raise VendorError("workday", f"the report answered without a {s.entries_key} "
                              "list (settings.entries_key)", url=s.report_path)
        for i in range(0, len(entries), s.batch_size):
            yield entries[i:i + s.batch_size]

    def _rest(self) -> Iterator[list[Any]]:
        s = self.settings
        for body in offset_pages(self.client, s.workers_path, limit=s.page_size,
                                 records_of=lambda b: b.get("data") or [],
                                 total_of=lambda b: b.get("total")):
            yield list(body.get("data") or [])


def to_events(records: Iterable[Any], rules: WorkerRules,
              source: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """Each record's events, or a refusal naming the worker (kept raw)."""
    events: list[dict[str, Any]] = []
    refusals: list[Any] = []
    for record in records:
        if not isinstance(record, Mapping):
            refusals.append(refusal(source=source, event_id=f"{RECORD}/(not an object)",
                                    record=record, reason="workday record is not an object",
                                    etype="worker.upserted"))
            continue
        try:
            mapped = map_worker(record, rules)
        except MappingError as bad:
            wid = record_id(record, rules)
            refusals.append(refusal(source=source, event_id=_refused_id(wid, record),
                                    record=record, reason=str(bad), etype="worker.upserted"))
            continue
        for m in mapped:
            events.append(envelope(source=source, etype=m.etype, event_id=m.event_id,
                                   subject=m.subject, time=_time(m.sequence),
                                   sequence=m.sequence, data=m.data))
    return events, refusals


def _refused_id(wid: str, record: Mapping[str, Any]) -> str:
    return content_id(f"{RECORD}/{wid}", dict(record))


def _time(sequence: int) -> datetime:
    return datetime.fromtimestamp(sequence / 1000, tz=UTC)
