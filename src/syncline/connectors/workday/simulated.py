"""Canonical worker data → the Workday records the mapping reads back (a round trip).

For end-to-end tests and demos: a simulated firm's ``worker.upserted`` and
``worker.terminated`` events (syncline.simulator) are loaded into ``FakeWorkday`` as
effective-dated report rows, so a sync of the connector gives the same canonical data back
(a terminated worker: its last ``worker.upserted`` with status ``terminated``, and its
``worker.terminated``). The inverse of the configured rules is used: a role becomes the first
job profile mapped to it, a status the first Workday status text mapped to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from syncline.connectors.workday.fake import FakeWorkday
from syncline.connectors.workday.mapping import WorkerRules


def worker_record(data: Mapping[str, Any], rules: WorkerRules, *,
                  ending: Mapping[str, Any] | None = None,
                  entry_moment: str | None = None) -> dict[str, Any]:
    """The Workday record (RaaS row or REST item, by ``rules.fields``) for worker ``data``,
    terminated by ``ending`` (``worker.terminated`` data) when given."""
    status = "terminated" if ending else data["status"]
    values: dict[str, Any] = {
        "worker_id": data["worker_id"], "name": data["name"], "email": data.get("email"),
        "hire_date": data.get("hire_date"), "status": _inverse(rules.statuses, status),
        "cost_rate": data["cost_rate"]["amount"],
        "cost_rate_currency": data["cost_rate"]["currency"],
        "effective_date": data["effective_date"], "legal_entity": data["legal_entity"],
        "cost_center": data.get("cost_center"), "location": data.get("location"),
        "job_profile": _inverse(rules.roles, data["role"]), "skills": data.get("skills"),
        "entry_moment": entry_moment,
    }
    if ending:
        values["termination_date"] = ending["termination_date"]
        values["termination_reason"] = ending.get("reason")
    record: dict[str, Any] = {}
    for key, raw in values.items():
        if raw is not None and key in rules.fields:
            _set(record, rules.fields[key], raw)
    return record


def load(fake: FakeWorkday, events: Iterable[Mapping[str, Any]], rules: WorkerRules) -> int:
    """Put every worker event (in stream order) into ``fake`` as a dated version; returns
    how many versions were put. Other event types are skipped."""
    latest: dict[str, Mapping[str, Any]] = {}
    count = 0
    for event in events:
        data = event.get("data") or {}
        if event.get("type") == "worker.upserted":
            latest[data["worker_id"]] = data
            fake.put(data["worker_id"], date.fromisoformat(data["effective_date"]),
                     worker_record(data, rules, entry_moment=event.get("time")))
        elif event.get("type") == "worker.terminated":
            fake.put(data["worker_id"], date.fromisoformat(data["termination_date"]),
                     worker_record(latest[data["worker_id"]], rules, ending=data,
                                   entry_moment=event.get("time")))
        else:
            continue
        count += 1
    return count


def _inverse(forward: Mapping[str, str], canonical: str) -> str:
    for vendor, mapped in forward.items():
        if mapped == canonical:
            return vendor
    raise ValueError(f"nothing in the configured map gives {canonical!r}")


def _set(record: dict[str, Any], path: str, raw: Any) -> None:
    *parents, last = path.split(".")
    node = record
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = raw
