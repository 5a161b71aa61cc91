"""Receiving, first half: one message parsed and validated, never raising on its content
(PURE: no database). `parse` gives what `inbox.receive_prepared` stores: the message's key
(source and id, or the text's digest), its problems, its text as stored and its header
columns. The rules a message is rejected by are inbox.py's module doc; content.py's
`is_plain` says when a text may take the fast way (orjson, no walk of its values).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from syncline.schemas import SchemaProblem, is_valid_event, validate_event
from syncline.services.messaging.content import (
    INT64,
    MAX_ID,
    MAX_STRING,
    bad_text,
    content_problems,
    is_plain,
    parse_json,
)
from syncline.services.messaging.refusals import Refusal

UNKNOWN_SOURCE = "unknown"
Header = tuple[str | None, str | None, int | None, str | None, str | None]


@dataclass(slots=True)
class Parsed:
    raw: str
    message: Any
    source: str
    event_id: str
    problems: list[SchemaProblem]
    stored: str  # the raw text as stored (`_storable_raw`)
    header: Header  # type, subject, sequence, time, correlation id (`_header_values`)
    from_text: bool = field(default=False, compare=False)  # ``message`` is what orjson
    # reads from ``stored`` (`is_plain`): apply may use it as it is (messaging/straight.py)


def _parsed(raw: str, message: Any, source: str, event_id: str,
            problems: list[SchemaProblem], plain: bool = False,
            from_text: bool = False) -> Parsed:
    """A plain text (`is_plain`, parsed) is stored as it is: it encodes (no lone surrogate)
    and holds no NUL (a parsed text has none raw, and a plain one none escaped).
    ``from_text``: the message was read from that text by orjson (not given as a dict)."""
    return Parsed(raw, message, source, event_id, problems,
                   raw if plain else _storable_raw(raw), _header_values(message, plain),
                   from_text)


def _digest(raw: str) -> str:
    return "sha256:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID and bad_text(value) is None


def _is_short(value: Any) -> bool:
    """`_is_key` for a string of a text `is_plain` passed (no NUL, no lone surrogate)."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID


RESERVED_SOURCE = "syncline/"  # Syncline's own messages (e.g. approved billing adjustments)


def parse(item: str | dict[str, Any] | Refusal, trusted: bool = False) -> Parsed:
    """One message, parsed and validated; never raises. A message from outside
    (``trusted`` false) may not use a ``syncline/`` source: those are Syncline's own."""
    if isinstance(item, Refusal):
        ok = _is_key(item.source) and _is_key(item.event_id)
        return _parsed(item.raw, {"type": item.etype}, item.source if ok else UNKNOWN_SOURCE,
                       item.event_id if ok else _digest(item.raw),
                       [SchemaProblem(item.field, "mapping", item.reason)])
    plain = False
    if isinstance(item, str):
        raw = item
        message = None
        if is_plain(raw):  # orjson gives what json gives for such a text (no big integers)
            try:
                message = orjson.loads(raw)
            except orjson.JSONDecodeError:  # the careful way words it
                message = None
            else:
                plain = True
                if type(message) is dict:  # the common case, as the general path ends it:
                    src, eid = message.get("source"), message.get("id")  # a valid message
                    if (type(src) is str and 0 < len(src) <= MAX_ID  # keyed by its own
                            and type(eid) is str and 0 < len(eid) <= MAX_ID  # source and id
                            and (trusted or not src.startswith(RESERVED_SOURCE))
                            and is_valid_event(message)):
                        return Parsed(raw, message, src, eid, [], raw,
                                       _header_values(message, True), True)
        if not plain:
            message, problem = parse_json(item)
            if problem is not None:
                return _parsed(raw, None, UNKNOWN_SOURCE, _digest(raw), [problem])
    else:
        message = item
        try:
            raw = json.dumps(item, sort_keys=True, separators=(",", ":"), allow_nan=True)
        except (ValueError, TypeError, RecursionError) as err:
            raw = repr(item)[:MAX_STRING]
            return _parsed(raw, None, UNKNOWN_SOURCE, _digest(raw), [SchemaProblem(
                "(message)", "json", f"not a JSON value: {type(err).__name__}")])
        plain = is_plain(raw) and "NaN" not in raw and "Infinity" not in raw
    src = message.get("source") if isinstance(message, dict) else None
    eid = message.get("id") if isinstance(message, dict) else None
    problems = [] if plain else content_problems(message)
    if not problems:
        try:
            problems = validate_event(message)
        except (RecursionError, ValueError, TypeError, OverflowError) as err:
            problems = [SchemaProblem("(message)", "schema",
                                      f"cannot be validated: {type(err).__name__}")]
    if not trusted and isinstance(src, str) and src.startswith(RESERVED_SOURCE):
        problems = [*problems, SchemaProblem(
            "source", "reserved", f"sources beginning {RESERVED_SOURCE!r} are Syncline's own "
            "messages; send yours under your system's name (e.g. erp/netsuite)")]
    key = _is_short if plain else _is_key  # a plain text's strings have no bad character
    source = src if isinstance(src, str) and key(src) else UNKNOWN_SOURCE
    if isinstance(eid, str) and key(eid) and source == src:
        return _parsed(raw, message, source, eid, problems, plain,
                       plain and isinstance(item, str))
    if not problems:  # never truncated: keyed by the digest instead
        problems = [SchemaProblem("id", "key", f"source and id must be 1 to {MAX_ID} "
                                  "characters of text")]
    return _parsed(raw, message, source, _digest(raw), problems, plain)


def _seq_int(value: Any) -> int | None:
    """The column value of `sequence`: an integer of 0 to 2^63-1 (ASCII digits in a string
    count), else None (the schema rejects the message)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, int) and 0 <= value <= INT64:
        return value
    return None


def _column(value: Any, limit: int) -> str | None:
    """A header value for a text column: at most `limit` characters, no NUL, no surrogate
    (the raw text keeps the message exactly; these columns only index it)."""
    if value is None or value == "":
        return None
    if type(value) is str and len(value) <= limit and value.isascii() and "\x00" not in value:
        return value  # the common case, as it is
    text_ = value if isinstance(value, str) else json.dumps(value, default=str)[:limit]
    text_ = text_[:limit].replace("\x00", "\ufffd")
    return text_.encode("utf-8", "replace").decode("utf-8")


def _storable_raw(raw: str) -> str:
    """The raw text as stored: exactly as received, except a NUL or a lone surrogate (which
    no database stores as text; such a message is rejected anyway) written as an escape."""
    if "\x00" in raw:
        raw = raw.replace("\x00", "\\u0000")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raw = raw.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw


def _header_values(message: Any, plain: bool = False) -> Header:
    """type, subject, sequence, time, correlation id: the indexed header columns. A value
    that is already its column's (a short ASCII string with no NUL, an integer in range) is
    taken as it is, without `_column` or `_seq_int` (which give it back unchanged); in a
    `plain` message (parsed from a text `is_plain` passed) no string holds a NUL."""
    if not isinstance(message, dict):
        return None, None, None, None, None
    get = message.get
    etype, subject, seq, etime, corr = (get("type"), get("subject"), get("sequence"),
                                        get("time"), get("correlationid"))
    if plain:
        return (
            etype if type(etype) is str and 0 < len(etype) <= 100 and etype.isascii()
            else _column(etype, 100),
            subject if type(subject) is str and 0 < len(subject) <= 200 and subject.isascii()
            else _column(subject, 200),
            seq if type(seq) is int and 0 <= seq <= INT64 else _seq_int(seq),
            etime if type(etime) is str and 0 < len(etime) <= 40 and etime.isascii()
            else _column(etime, 40),
            corr if type(corr) is str and 0 < len(corr) <= 200 and corr.isascii()
            else _column(corr, 200))
    return (_column(etype, 100), _column(subject, 200), _seq_int(seq), _column(etime, 40),
            _column(corr, 200))
