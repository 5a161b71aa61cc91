"""Harvest streams: ``time_entries`` (incremental) and ``approvals`` (the reconcile).

``time_entries`` reads ``GET /v2/time_entries?updated_since=<cursor>&per_page=`` and follows
``links.next`` to its end (never building a page URL). Each page is one batch: approved
entries → ``time.approved``; an entry that is no longer approved but that Syncline holds
approved (approvals.py) → ``time.rejected``; others (running, not yet approved) are skipped.
Pages are not in ``updated_at`` order, so the cursor — the largest ``updated_at`` seen,
re-read with Harvest's ``updated_since`` and deduplicated by event id — is stored by a last,
empty batch after every page was stored; a failure keeps the cursor where it was.

``approvals`` finds what ``updated_since`` cannot see, deletions: it lists every entry from
the earliest work date Syncline holds approved and sends ``time.rejected`` for each held entry
that is gone (or no longer approved). Run it daily (connectors.md §4.4: a periodic reconcile).

Users (``/v2/users``) and projects (``/v2/projects``: ``code`` → project_code) are read as
lookups at the start of each read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from syncline.connectors.harvest import approvals, hr
from syncline.connectors.harvest.mapping import (
    DELETED,
    RECORD,
    entry_id,
    is_approved,
    map_approved,
    rejected,
    withdrawn_reason,
)
from syncline.connectors.harvest.mapping import (
    directory as people_directory,
)
from syncline.connectors.harvest.settings import HarvestSettings
from syncline.connectors.sdk.base import Batch
from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import (
    envelope,
    epoch_ms,
    parse_time,
    record_version_id,
    refusal,
    rfc3339,
)
from syncline.connectors.sdk.http import VendorClient
from syncline.connectors.sdk.paging import follow_next_url

Body = dict[str, Any]


def _next(body: Body) -> str | None:
    return (body.get("links") or {}).get("next")


class _Harvest:
    def __init__(self, client: VendorClient, settings: HarvestSettings, source: str,
                 engine: Engine, clock: Callable[[], datetime]) -> None:
        self.client, self.settings, self.source = client, settings, source
        self.engine, self.clock = engine, clock

    def pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[list[Body]]:
        for body in follow_next_url(self.client, path, _next, params=params):
            yield list(body.get(key) or [])

    def lookups(self) -> tuple[dict[str, Any], dict[str, str]]:
        s = self.settings
        users = [u for page in self.pages("/v2/users", "users", {"per_page": s.per_page})
                 for u in page]
        projects = {str(p.get("id")): str(p.get("code") or "").strip()
                    for page in self.pages("/v2/projects", "projects", {"per_page": s.per_page})
                    for p in page}
        with self.engine.connect() as conn:
            known = hr.people(conn, s.hr_source) if s.hr_source else {}
        people = people_directory(users, rule=s.worker_rule, hr=known,
                                  user_workers=s.user_workers, user_roles=s.user_roles)
        return people, projects

    def event(self, entry: Body, etype: str, data: Body, *, event_id: str | None = None,
              at: datetime | None = None) -> Body:
        when = at or parse_time(str(entry["updated_at"]))
        return envelope(source=self.source, etype=etype, event_id=event_id or _version_id(entry),
                        subject=f"time/{data['time_entry_id']}", time=when,
                        sequence=epoch_ms(when), data=data)


def _version_id(entry: Body) -> str:
    return record_version_id(RECORD, str(entry.get("id")), str(entry.get("updated_at")))


class TimeEntriesStream(_Harvest):
    name = "time_entries"
    description = "Harvest time entries → time.approved; withdrawn approvals → time.rejected"

    def read(self, cursor: str | None) -> Iterator[Batch]:
        s = self.settings
        people, projects = self.lookups()
        params: dict[str, Any] = {"per_page": s.per_page}
        since = cursor or s.since
        if since:
            params["updated_since"] = since
        newest = since
        for entries in self.pages("/v2/time_entries", "time_entries", params):
            yield self._batch(entries, people, projects)
            stamps = [rfc3339(parse_time(str(e["updated_at"]))) for e in entries
                      if e.get("updated_at")]
            newest = max([newest or "", *stamps]) or None
        yield Batch(cursor=newest)

    def _batch(self, entries: list[Body], people: dict[str, Any],
               projects: dict[str, str]) -> Batch:
        rules = self.settings.rules
        batch = Batch()
        pending = [str(e.get("id")) for e in entries if not is_approved(e, rules)]
        with self.engine.connect() as conn:
            held = approvals.held_approved(conn, self.source, pending) if pending else {}
        for entry in entries:
            if is_approved(entry, rules):
                try:
                    data = map_approved(entry, rules, people=people, projects=projects)
                except MappingError as bad:
                    batch.refusals.append(refusal(
                        source=self.source, event_id=_version_id(entry), record=entry,
                        reason=str(bad), etype="time.approved"))
                    continue
                batch.events.append(self.event(entry, "time.approved", data))
            elif str(entry.get("id")) in held and not entry.get("is_running"):
                data = rejected(entry_id(entry, rules), withdrawn_reason(rules),
                                rfc3339(parse_time(str(entry["updated_at"]))))
                batch.events.append(self.event(entry, "time.rejected", data))
        return batch


class ApprovalsStream(_Harvest):
    name = "approvals"
    description = "reconcile: entries Syncline holds approved that Harvest deleted or reopened"

    def read(self, cursor: str | None) -> Iterator[Batch]:
        now = self.clock()
        with self.engine.connect() as conn:
            held = approvals.all_held_approved(conn, self.source)
        batch = Batch(cursor=rfc3339(now))
        if held:
            start = min(h.work_date for h in held.values() if h.work_date)
            seen: dict[str, Body] = {}
            for entries in self.pages("/v2/time_entries", "time_entries",
                                      {"from": start, "per_page": self.settings.per_page}):
                seen |= {str(e.get("id")): e for e in entries}
            rules = self.settings.rules
            for harvest_id, h in sorted(held.items()):
                entry = seen.get(harvest_id)
                if entry is None:
                    data = rejected(f"{rules.entry_prefix}{harvest_id}", DELETED, rfc3339(now))
                    batch.events.append(self.event(
                        {"id": harvest_id}, "time.rejected", data, at=now,
                        event_id=f"{RECORD}/{harvest_id}@deleted-after-{h.version}"))
                elif not is_approved(entry, rules) and not entry.get("is_running"):
                    data = rejected(entry_id(entry, rules), withdrawn_reason(rules),
                                    rfc3339(parse_time(str(entry["updated_at"]))))
                    batch.events.append(self.event(entry, "time.rejected", data))
        yield batch
