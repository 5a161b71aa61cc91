"""The staffing match of a stored resource request: every worker as of the request's start
(services/workforce/facts.py) ranked by domain/staffing.match, as JSON-ready dicts."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from syncline.domain.staffing import WEIGHTS, match
from syncline.services.workforce.facts import get_request, request_of, workers_as_of

_CENT = Decimal("0.01")


def matches(conn: Connection, request_id: str, top: int | None = 10) -> dict[str, Any] | None:
    """The request and its ranked candidates (None: no such request)."""
    row = get_request(conn, request_id)
    if row is None:
        return None
    request = request_of(row)
    ranked = match(request, workers_as_of(conn, request.span.start), top)
    return {
        "request": {
            "request_id": row.request_id, "project_code": row.project_code, "role": row.role,
            "skills": json.loads(row.skills), "hours_per_week": str(row.hours_per_week),
            "start_date": row.start_date, "end_date": row.end_date,
            "location": json.loads(row.location), "billable": row.billable,
            "bill_rate": str(row.bill_rate) if row.bill_rate is not None else None,
            "currency": row.currency, "status": row.status},
        "weights": {k: str(v) for k, v in WEIGHTS.items()},
        "candidates": [{
            "rank": i, "worker_id": c.worker_id, "name": c.name, "score": str(c.score),
            "parts": {k: str(v) for k, v in c.parts.items()}, "reasons": list(c.reasons),
            "summary": c.summary(), "free_hours_per_week": str(c.free_per_week),
            "utilization_before": str(c.utilization_before.quantize(_CENT)),
            "utilization_after": str(c.utilization_after.quantize(_CENT)),
        } for i, c in enumerate(ranked, start=1)],
    }

