"""The staffing match of stored resource requests: every worker as of the request's start
(services/workforce/facts.py) ranked by the batch matcher (domain/staffing/batch.py, the
same answer as the day-by-day ``match``), as JSON-ready dicts.

``matches`` answers one request; ``open_matches`` every open request in one pass: the
workers' facts are read once, the requests grouped by start date (the facts in force), and
a group whose workers are the same as the previous group's reuses its index.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.workforce_tables import resource_requests
from syncline.domain.staffing import WEIGHTS, Candidate, Request
from syncline.domain.staffing.batch import StaffingIndex
from syncline.services.workforce.facts import Facts, get_request, request_of

_CENT = Decimal("0.01")


def _request_json(row: Any) -> dict[str, Any]:
    return {"request_id": row.request_id, "project_code": row.project_code, "role": row.role,
            "skills": json.loads(row.skills), "hours_per_week": str(row.hours_per_week),
            "start_date": row.start_date, "end_date": row.end_date,
            "location": json.loads(row.location), "billable": row.billable,
            "bill_rate": str(row.bill_rate) if row.bill_rate is not None else None,
            "currency": row.currency, "status": row.status}


def _answer(row: Any, ranked: list[Candidate]) -> dict[str, Any]:
    return {
        "request": _request_json(row),
        "weights": {k: str(v) for k, v in WEIGHTS.items()},
        "candidates": [{
            "rank": i, "worker_id": c.worker_id, "name": c.name, "score": str(c.score),
            "parts": {k: str(v) for k, v in c.parts.items()}, "reasons": list(c.reasons),
            "summary": c.summary(), "free_hours_per_week": str(c.free_per_week),
            "utilization_before": str(c.utilization_before.quantize(_CENT)),
            "utilization_after": str(c.utilization_after.quantize(_CENT)),
        } for i, c in enumerate(ranked, start=1)],
    }


def matches(conn: Connection, request_id: str, top: int | None = 10) -> dict[str, Any] | None:
    """The request and its ranked candidates (None: no such request)."""
    row = get_request(conn, request_id)
    if row is None:
        return None
    request = request_of(row)
    people = Facts(conn).as_of(request.span.start)
    index = StaffingIndex(people, request.span.start, request.span.end)
    return _answer(row, index.match(request, top))


def open_matches(conn: Connection, top: int | None = 10) -> list[dict[str, Any]]:
    """Every open request with its ranked candidates, by request id."""
    rows = conn.execute(select(resource_requests).where(
        resource_requests.c.status == "open").order_by(resource_requests.c.request_id)).all()
    if not rows:
        return []
    requests = {r.request_id: request_of(r) for r in rows}
    first = min(r.span.start for r in requests.values())
    last = max(r.span.end for r in requests.values())
    by_start: dict[Any, list[Request]] = defaultdict(list)
    for r in requests.values():
        by_start[r.span.start].append(r)
    facts = Facts(conn)
    ranked: dict[str, list[Candidate]] = {}
    index: StaffingIndex | None = None
    since = first
    for start in sorted(by_start):
        if index is None or not facts.same_between(since, start):
            index, since = StaffingIndex(facts.as_of(start), first, last), start
        for r in by_start[start]:
            ranked[r.request_id] = index.match(r, top)
    return [_answer(row, ranked[row.request_id]) for row in rows]
