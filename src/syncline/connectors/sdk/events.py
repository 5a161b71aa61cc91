"""Canonical envelopes from vendor records: stable ids, so reading a record again is a
duplicate, and a sequence from the vendor's own modification time, so order is the vendor's.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from syncline.services.messaging.inbox import Refusal


def epoch_ms(moment: datetime) -> int:
    """A vendor timestamp as the event's ``sequence`` (milliseconds since the epoch)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_time(text: str) -> datetime:
    """ISO 8601 / RFC 3339 as vendors write it (``Z``, ``+0000`` or ``+00:00``)."""
    value = text.strip().replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]  # Salesforce's +0000
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_version_id(record_type: str, record_id: str, version: str) -> str:
    """The event id of one version of one vendor record (``Opportunity/006…@<modstamp>``)."""
    return f"{record_type}/{record_id}@{version}"


def content_id(prefix: str, payload: Any) -> str:
    """An id from a record's content, for feeds with no version stamp (files)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return f"{prefix}@sha256:{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def envelope(*, source: str, etype: str, event_id: str, subject: str, time: datetime,
             sequence: int | None, data: dict[str, Any],
             correlation: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0", "id": event_id, "source": source, "type": etype,
        "subject": subject, "time": rfc3339(time), "datacontenttype": "application/json",
        "data": data,
    }
    if sequence is not None:
        event["sequence"] = sequence
    if correlation:
        event["correlationid"] = correlation
    return event


def refusal(*, source: str, event_id: str, record: Any, reason: str, etype: str | None,
            field: str = "(record)") -> Refusal:
    """A vendor record kept raw and rejected with ``reason`` (which names the record)."""
    raw = json.dumps(record, sort_keys=True, default=str)
    return Refusal(source=source, event_id=event_id, raw=raw, reason=reason, etype=etype,
                   field=field)
