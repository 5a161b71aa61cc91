"""A broker message as a CloudEvent (the CloudEvents NATS/Kafka protocol bindings, 1.0).

Structured mode: the body is the event (JSON). Binary mode — a ``ce-specversion`` header —:
the attributes are the ``ce-*`` headers, the body is ``data`` and ``content-type`` its
``datacontenttype``; ``sequence`` (an integer in Syncline's envelope) is taken as an integer
when the header is decimal digits. Nothing here refuses a message: a body that is not UTF-8
keeps its bad bytes escaped and is rejected as unreadable when received, like a bad line of
a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_DIGITS = re.compile(r"[0-9]{1,18}", re.ASCII)


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="backslashreplace")


def _typed(name: str, value: str) -> Any:
    if name == "sequence" and _DIGITS.fullmatch(value):
        return int(value)
    return value


def event_from(body: bytes, headers: Mapping[str, str] | None = None) -> str | dict[str, Any]:
    """What to receive for one broker message: the body's text (structured mode) or the
    event built from ``ce-*`` headers and the body (binary mode)."""
    found = {k.lower(): v for k, v in (headers or {}).items()}
    if "ce-specversion" not in found:
        return _text(body)
    event: dict[str, Any] = {k[3:]: _typed(k[3:], v) for k, v in found.items()
                             if k.startswith("ce-") and len(k) > 3}
    content_type = found.get("content-type")
    if content_type:
        event["datacontenttype"] = content_type
    if body:
        text = _text(body)
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media in ("", "application/json", "text/json") or media.endswith("+json"):
            try:
                event["data"] = json.loads(text)
            except (ValueError, RecursionError):
                event["data"] = text  # refused by the schema (data is an object), kept
        else:
            event["data"] = text
    return event
