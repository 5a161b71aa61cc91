"""A broker message as a CloudEvent (the CloudEvents NATS, Kafka and AMQP protocol bindings).

Structured mode: the body is the event (JSON). Binary mode — a ``specversion`` header under
the binding's prefix —: the attributes are the prefixed headers, the body is ``data`` and
``content-type`` its ``datacontenttype``. The prefixes are the bindings': ``ce-`` for NATS,
``ce_`` for Kafka, ``cloudEvents_`` (or the older ``cloudEvents:``) for AMQP, whose
``content-type`` is the message property (the RabbitMQ ingress passes it as a header).
``sequence`` (an integer in Syncline's envelope) is taken as an integer when the header is
decimal digits. Nothing here refuses a message: a body that is not UTF-8
keeps its bad bytes escaped and is rejected as unreadable when received, like a bad line of
a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_DIGITS = re.compile(r"[0-9]{1,18}", re.ASCII)


@dataclass(frozen=True)
class Binding:
    """Where a protocol binding puts the attributes of a binary-mode event."""

    prefixes: tuple[str, ...]


NATS = Binding(("ce-",))
KAFKA = Binding(("ce_",))
AMQP = Binding(("cloudevents_", "cloudevents:"))  # compared lower-cased


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="backslashreplace")


def _typed(name: str, value: str) -> Any:
    if name == "sequence" and _DIGITS.fullmatch(value):
        return int(value)
    return value


def event_from(body: bytes, headers: Mapping[str, str] | None = None,
               binding: Binding = NATS) -> str | dict[str, Any]:
    """What to receive for one broker message: the body's text (structured mode) or the
    event built from the binding's prefixed headers and the body (binary mode)."""
    found = {k.lower(): v for k, v in (headers or {}).items()}
    prefix = next((p for p in binding.prefixes if p + "specversion" in found), None)
    if prefix is None:
        return _text(body)
    n = len(prefix)
    event: dict[str, Any] = {k[n:]: _typed(k[n:], v) for k, v in found.items()
                             if k.startswith(prefix) and len(k) > n}
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
