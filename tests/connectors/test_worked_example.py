"""The worked example of docs/connectors.md ("Writing a new connector"), run as written: a
small time-tracking API with a next link and an `updated_since` cursor, its fake, and the
events it stores. If this test changes, change the document with it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from syncline.bootstrap import Syncline
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.auth import bearer
from syncline.connectors.sdk.base import Batch, Check
from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import (
    envelope,
    epoch_ms,
    parse_time,
    record_version_id,
    refusal,
)
from syncline.connectors.sdk.http import VendorClient
from syncline.connectors.sdk.paging import follow_next_url
from syncline.connectors.sdk.secrets import Secret
from syncline.schemas import validate_event


# --- mapping.py: pure, vendor record -> canonical data -------------------------------------
def time_data(entry: dict[str, Any], roles: dict[str, str]) -> dict[str, Any]:
    if entry["person"] not in roles:
        raise MappingError("tickr", "entry", str(entry["id"]),
                           f"person {entry['person']} has no role in the settings")
    return {"time_entry_id": f"TK-{entry['id']}", "worker_id": entry["person"],
            "project_code": entry["project"], "task_code": entry.get("task", "1"),
            "work_date": entry["date"], "hours": str(entry["hours"]),
            "approval_status": "approved", "billable": entry.get("billable", True),
            "role": roles[entry["person"]]}


# --- streams.py: what to fetch, how to page, where the cursor is ---------------------------
@dataclass
class ApprovedTime:
    client: VendorClient
    roles: dict[str, str]
    source: str
    name: str = "approved_time"
    description: str = "approved time entries, incremental on updated_at"

    def read(self, cursor: str | None) -> Iterator[Batch]:
        params = {"status": "approved", "updated_since": cursor or "1970-01-01T00:00:00Z"}
        pages = follow_next_url(self.client, "/v1/entries", lambda body: body.get("next"),
                                params=params)
        for body in pages:
            batch, latest = Batch(), cursor
            for entry in body["entries"]:
                updated = parse_time(entry["updated_at"])
                event_id = record_version_id("entry", str(entry["id"]), entry["updated_at"])
                try:
                    batch.events.append(envelope(
                        source=self.source, etype="time.approved", event_id=event_id,
                        subject=f"time/TK-{entry['id']}", time=updated,
                        sequence=epoch_ms(updated), data=time_data(entry, self.roles)))
                except MappingError as bad:
                    batch.refusals.append(refusal(source=self.source, event_id=event_id,
                                                  record=entry, reason=str(bad),
                                                  etype="time.approved"))
                latest = max(latest or "", entry["updated_at"])
            batch.cursor = latest
            yield batch


# --- __init__.py: the connector ------------------------------------------------------------
class Tickr:
    kind = "tickr"

    def __init__(self, name: str, client: VendorClient, roles: dict[str, str]) -> None:
        self.name, self.client, self.roles = name, client, roles

    def streams(self) -> list[ApprovedTime]:
        return [ApprovedTime(self.client, self.roles, f"tickr/{self.name}")]

    def check(self) -> Check:
        me = self.client.get_json("/v1/me")
        return Check(True, f"authenticated as {me['account']}")


# --- fake.py: the vendor, from its documentation -------------------------------------------
class FakeTickr:
    def __init__(self, entries: list[dict[str, Any]], page_size: int = 2) -> None:
        self.entries, self.page_size, self.requests = entries, page_size, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != "Bearer tk-secret":
            return httpx.Response(401, json={"error": "unauthorized"})
        if request.url.path == "/v1/me":
            return httpx.Response(200, json={"account": "acme"})
        since = request.url.params.get("updated_since", "")
        offset = int(request.url.params.get("page_token", "0"))
        rows = sorted((e for e in self.entries if e["updated_at"] >= since),
                      key=lambda e: e["updated_at"])
        page = rows[offset:offset + self.page_size]
        more = offset + self.page_size < len(rows)
        token = f"https://api.tickr.test/v1/entries?updated_since={since}&page_token=" \
                f"{offset + self.page_size}"
        return httpx.Response(200, json={"entries": page, "next": token if more else None})


ENTRIES = [
    {"id": 1, "person": "W-1", "project": "P-1", "date": "2026-07-01", "hours": "8.00",
     "updated_at": "2026-07-02T09:00:00Z"},
    {"id": 2, "person": "W-1", "project": "P-1", "date": "2026-07-02", "hours": "7.50",
     "updated_at": "2026-07-03T09:00:00Z"},
    {"id": 3, "person": "W-9", "project": "P-1", "date": "2026-07-02", "hours": "1.00",
     "updated_at": "2026-07-03T10:00:00Z"},
]


def test_the_worked_example_syncs_pages_refuses_the_unknown_person_and_resumes(
        system: Syncline) -> None:
    fake = FakeTickr([dict(e) for e in ENTRIES])
    client = VendorClient("tickr", "https://api.tickr.test", auth=bearer(Secret("tk-secret")),
                          transport=httpx.MockTransport(fake), sleep=lambda s: None)
    connector = Tickr("timesheets", client, roles={"W-1": "consultant"})
    assert connector.check().detail == "authenticated as acme"
    [stream] = connector.streams()
    first = run_stream(system.engine, "timesheets", stream, clock=system.clock)
    assert (first.accepted, first.rejected, first.batches) == (2, 1, 2)
    assert "W-9 has no role" in first.rejected_reasons[0]
    assert first.cursor_after == "2026-07-03T10:00:00Z"
    for page in ApprovedTime(client, {"W-1": "consultant"}, "tickr/t").read(None):
        assert all(validate_event(e) == [] for e in page.events)
    fake.entries.append({"id": 4, "person": "W-1", "project": "P-1", "date": "2026-07-06",
                         "hours": "2.00", "updated_at": "2026-07-07T08:00:00Z"})
    second = run_stream(system.engine, "timesheets", stream, clock=system.clock)
    # re-read from the cursor (>=): entry 3 again (a duplicate of its refusal), entry 4 new
    assert (second.accepted, second.duplicates) == (1, 1)
