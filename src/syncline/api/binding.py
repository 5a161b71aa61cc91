"""The CloudEvents HTTP protocol binding (1.0) of `POST /v1/events`, and the request bounds.

Three content modes, chosen as the binding says:

- *structured*: ``Content-Type: application/cloudevents+json`` (or plain ``application/json``
  holding one JSON object): the body is the event;
- *batched*: ``Content-Type: application/cloudevents-batch+json`` (or ``application/json``
  holding an array): the body is a JSON array of events;
- *binary*: a ``ce-specversion`` header: the attributes are the ``ce-*`` headers
  (percent-decoded), the body is the event's ``data`` and ``Content-Type`` its
  ``datacontenttype``. Extension attributes are typed as the spec types them: ``sequence``
  (an Integer in Syncline's envelope) is taken as an integer when the header is decimal
  digits. The stored raw text of a binary-mode event is its structured JSON form.

Bounds (issue 11): the body is at most ``max_body_bytes`` (``SYNCLINE_MAX_BODY_BYTES``,
default 5 MB) → 413; it must be UTF-8 (strict: invalid UTF-8 is refused with 400, never
replaced, so what is stored is what was sent); a batch holds at most ``MAX_BATCH`` events →
413. Strings, nesting, numbers and ids are bounded when each message is received
(services/messaging/inbox.py): such a message is kept as rejected, with the reason.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import orjson
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

from syncline.services.messaging.content import batch_texts

MAX_BATCH = 5000
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
_DIGITS = re.compile(r"[0-9]{1,19}", re.ASCII)
_INT64 = 2**63 - 1


def max_body_bytes() -> int:
    """The configured body bound (``SYNCLINE_MAX_BODY_BYTES``), else 5 MB."""
    value = os.environ.get("SYNCLINE_MAX_BODY_BYTES", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_MAX_BODY_BYTES


async def read_body(request: Request, limit: int) -> bytes:
    """The body, at most `limit` bytes (413 beyond: by Content-Length before reading, else
    while streaming, so a large body is never held)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is {int(declared):,} bytes; at most {limit:,} "
                            "are accepted (SYNCLINE_MAX_BODY_BYTES)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body exceeds {limit:,} bytes "
                                "(SYNCLINE_MAX_BODY_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_utf8(body: bytes) -> str:
    """Strict UTF-8 (a BOM is refused too: JSON text has none); 400 naming the byte."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise HTTPException(400, f"the body is not UTF-8: byte {err.object[err.start]:#04x} "
                            f"at offset {err.start} ({err.reason}); nothing was stored"
                            ) from None


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _typed(name: str, value: str) -> Any:
    """A header attribute's value in the type the envelope gives it."""
    if name == "sequence" and _DIGITS.fullmatch(value) and int(value) <= _INT64:
        return int(value)
    return value


def binary_event(headers: Mapping[str, str], text: str) -> dict[str, Any]:
    """The event of a binary-mode request: ``ce-*`` headers and the body as data."""
    event: dict[str, Any] = {}
    for key, value in headers.items():
        lower = key.lower()
        if lower.startswith("ce-") and len(lower) > 3:
            name = lower[3:]
            event[name] = _typed(name, unquote(value, errors="strict")
                                 if "%" in value else value)
    content_type = headers.get("content-type")
    if content_type:
        event["datacontenttype"] = content_type
    media = _media_type(headers)
    if text == "":
        return event
    if media in ("", "application/json", "text/json") or media.endswith("+json"):
        try:
            event["data"] = json.loads(text)
        except (ValueError, RecursionError):
            event["data"] = text  # refused by the schema (data must be an object), kept
    else:
        event["data"] = text
    return event


def items_of(headers: Mapping[str, str], text: str
             ) -> tuple[list[str | dict[str, Any]], bool]:
    """The messages of a request and whether it was a batch. A structured body and each
    event of a batched one are passed on as their text, exactly as sent (parsed when
    received: a bad one is kept rejected); a binary-mode event as its dict."""
    media = _media_type(headers)
    # the binding: a cloudevents media type means structured or batched mode, whatever else
    # the headers say; otherwise a ce-specversion header means binary mode
    if media not in (STRUCTURED, BATCH) and "ce-specversion" in {k.lower() for k in headers}:
        try:
            return [binary_event(headers, text)], False
        except UnicodeDecodeError:
            raise HTTPException(400, "a ce-* header is not percent-encoded UTF-8") from None
    stripped = text.lstrip()
    if media == BATCH or (media != STRUCTURED and stripped.startswith("[")):
        texts = batch_texts(text)  # each event's own text, as sent (stored so)
        if texts is None:
            if media == BATCH:
                raise HTTPException(400, "a cloudevents batch must be a JSON array")
            return [text], False  # kept as an unreadable message
        if len(texts) > MAX_BATCH:
            raise HTTPException(413, f"a batch holds at most {MAX_BATCH} events")
        if not texts:
            raise HTTPException(422, "an empty batch: send one event or a non-empty list")
        return list(texts), True
    return [text], False


class ReceiptsResponse(JSONResponse):
    """Receipts as JSON: the bytes ``JSONResponse`` writes (compact, UTF-8, not ASCII-escaped),
    written by orjson — the same for content of text, lists and dicts, as receipts are (no
    float: orjson writes those otherwise); anything orjson refuses is written as before."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # orjson.JSONEncodeError: e.g. a lone surrogate
            return super().render(content)
