"""What makes a received JSON text unstorable or unsafe whatever its schema, and the fast
way to tell that a text has none of it (PURE).

A message is rejected for JSON nested deeper than ``MAX_DEPTH``, a string longer than
``MAX_STRING``, an integer outside 64 bits, ``NaN``/``Infinity``, a NUL character or a lone
surrogate in any string or key (neither can be stored as text everywhere). ``is_plain`` says,
from the text alone, that no value parsed from it can have such a problem, so the receive
path can skip walking every value (tests/property/test_receive_fast_path.py).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from syncline.schemas import SchemaProblem

MAX_DEPTH = 64  # arrays and objects inside each other
MAX_STRING = 65_536  # characters in one string (or key)
MAX_ID = 200  # characters of `source` and `id` (the envelope schema's maxLength)
INT64 = 2**63 - 1


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text_: str) -> tuple[Any, SchemaProblem | None]:
    """Parse JSON; never raises: a problem instead (too deep, a number too long …)."""
    try:
        return json.loads(text_, parse_constant=_refuse_constant), None
    except json.JSONDecodeError as err:
        return None, SchemaProblem("(message)", "json", f"not valid JSON: {err.msg} at line "
                                   f"{err.lineno} column {err.colno}")
    except RecursionError:
        return None, SchemaProblem("(message)", "depth",
                                   f"JSON nested deeper than {MAX_DEPTH} levels")
    except (ValueError, TypeError, OverflowError) as err:  # e.g. a 5,000-digit integer
        return None, SchemaProblem("(message)", "json", f"not valid JSON: {err}"[:300])


def bad_text(value: str) -> str | None:
    if len(value) > MAX_STRING:
        return f"longer than {MAX_STRING} characters"
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not Unicode text)"
    return None


def content_problems(message: Any) -> list[SchemaProblem]:
    """What makes a JSON value unstorable or unsafe whatever its schema (iterative: no
    recursion however deep): depth, string size, NUL, lone surrogates, integers beyond 64 bits,
    non-finite numbers. At most a few problems, each naming its path."""
    out: list[SchemaProblem] = []
    stack: list[tuple[Any, str, int]] = [(message, "", 0)]
    while stack and len(out) < 5:
        value, path, depth = stack.pop()
        where = path or "(message)"
        if isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                out.append(SchemaProblem(where, "depth",
                                         f"nested deeper than {MAX_DEPTH} levels"))
                continue
            if isinstance(value, dict):
                for key, item in value.items():
                    key_text = str(key)
                    bad = bad_text(key_text)
                    shown = key_text.encode("utf-8", "backslashreplace").decode()[:50]
                    if bad:
                        out.append(SchemaProblem(f"{where}", "key", f"a key {bad}"))
                        continue
                    stack.append((item, f"{path}.{shown}" if path else shown, depth + 1))
            else:
                for i, item in enumerate(value):
                    stack.append((item, f"{where}[{i}]", depth + 1))
        elif isinstance(value, str):
            bad = bad_text(value)
            if bad:
                out.append(SchemaProblem(where, "string", f"a string {bad}"))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > INT64:
                out.append(SchemaProblem(where, "range", "an integer outside 64 bits"))
        elif isinstance(value, float) and not math.isfinite(value):
            out.append(SchemaProblem(where, "range", "not a finite number"))
    return out


# A JSON text none of whose values can have a content problem (`is_plain`): shorter than a
# string may be, fewer brackets than the depth allowed, no escaped NUL or surrogate, no lone
# surrogate, and no run of 19 digits (an integer beyond 64 bits has one). Digits or escapes
# inside strings count too: a false alarm only sends the text the careful way. Floats that
# overflow are refused by orjson, which then hands the text to the careful way; `json.dumps`
# (a dict's text) writes non-finite floats as NaN and Infinity, looked for apart.
_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))  # digits to 0, else space
_LONG_NUMBER = b"0" * 19


def is_plain(raw: str) -> bool:
    """True when `content_problems` finds nothing in any value parsed from `raw` (tested on
    generated values: tests/property/test_receive_fast_path.py)."""
    if (len(raw) > MAX_STRING or raw.count("{") + raw.count("[") >= MAX_DEPTH
            or ("\\u" in raw and _ESCAPE.search(raw) is not None)):
        return False
    try:
        encoded = raw.encode("utf-8")  # a lone surrogate in the text itself fails here
    except UnicodeEncodeError:
        return False
    return not has_long_number(encoded)


def has_long_number(encoded: bytes) -> bool:
    """A run of 19 digits or more (digits inside strings count too): where an integer beyond
    64 bits would be, which orjson reads as a float and json as an int."""
    return _LONG_NUMBER in encoded.translate(_DIGITS)


@dataclass(frozen=True, slots=True)
class Decoded:
    """An event of a batch, decoded by orjson (so no NaN, no infinity, no integer beyond 64
    bits, no lone surrogate), and its ``canonical_json`` text: received as the dict alone
    would be (services/messaging/inbox.py), without writing the text again."""

    text: str
    value: dict[str, Any]


def decode_batch(text_: str) -> tuple[Any, bool]:
    """The JSON value of a batch's text and whether orjson decoded it (then its dicts may be
    received as ``Decoded``). orjson only where it gives exactly what json gives: no run of
    19 digits (a big integer), and whatever it refuses (NaN, a lone surrogate, a number too
    large for a float) is decoded by json, as always. Raises what ``json.loads`` raises."""
    if not has_long_number(text_.encode("utf-8", "surrogatepass")):
        try:
            return orjson.loads(text_), True
        except orjson.JSONDecodeError:
            pass  # json decides, and words the failure
    return json.loads(text_), False


# orjson writes a float as Python's repr does, except below 1e-4 (0.00001 for 1e-05) and in
# exponents (1e-7 for 1e-07): any number written with an exponent (orjson's always has its
# sign: e+16, e-7) or as 0.0000… is left to json. A number in compact JSON follows ':', ',' or
# '['; the same bytes inside a string are a false alarm (json writes that text), never a miss.
_SUSPECTS = (b"e+", b"e-", b"0.0000")  # an exponent, or a fixed float below 1e-4


def _floats_alike(out: bytes) -> bool:
    """No float in orjson's text ``out`` that json would write otherwise. Only where suspect
    bytes are is what precedes them looked at: a number starts after ':', ',', '[' (or at the
    start), then a sign, digits and a point — at most 19 bytes in a float orjson writes."""
    for suspect in _SUSPECTS:
        at = out.find(suspect)
        while at != -1:
            start = max(0, at - 24)
            head = out[start:at].rstrip(b"0123456789.")
            head = head[:-1] if head.endswith(b"-") else head
            if head[-1:] in (b":", b",", b"[") or (not head and start == 0):
                return False
            at = out.find(suspect, at + 1)
    return True


def canonical_json(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"))`` for a value decoded by
    orjson (no NaN or infinity: orjson would write null), made by orjson when its text is the
    same: ASCII (json escapes the rest, and DEL), no float written differently."""
    try:
        out = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
        out = b"\x80"
    if out.isascii() and b"\x7f" not in out and _floats_alike(out):
        return out.decode("ascii")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)
