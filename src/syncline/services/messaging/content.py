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
from typing import Any

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
# The brackets and the digits are found in one pass: the text's UTF-8 with every digit made
# "0", every bracket "{" and anything else a space (a non-ASCII character's bytes too).
_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_CLASSES = bytes(48 if 48 <= i <= 57 else 123 if i in (91, 123) else 32 for i in range(256))
_LONG_NUMBER = b"0" * 19


def is_plain(raw: str) -> bool:
    """True when `content_problems` finds nothing in any value parsed from `raw` (tested on
    generated values: tests/property/test_receive_fast_path.py)."""
    if len(raw) > MAX_STRING or ("\\" in raw and _ESCAPE.search(raw) is not None):
        return False
    try:
        encoded = raw.encode("utf-8")  # a lone surrogate in the text itself fails here
    except UnicodeEncodeError:
        return False
    classes = encoded.translate(_CLASSES)
    return classes.count(b"{") < MAX_DEPTH and _LONG_NUMBER not in classes


_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's (RFC 8259 §2)
_SPACE = frozenset(" \t\n\r")
_SCAN = json.JSONDecoder().scan_once  # what `raw_decode` calls (the C scanner), less a frame


def _skip(text_: str, i: int) -> int:
    """The index of the first character at or after ``i`` that is not JSON whitespace."""
    if text_[i:i + 1] not in _SPACE:  # the common case: none (a compact array)
        return i
    found = _WHITESPACE.match(text_, i)
    return found.end() if found else i


def batch_texts(text_: str) -> list[str] | None:
    """Each element of the JSON array ``text_`` as its own text, exactly as written in it
    (the characters the sender sent for that event, not the event written again); None when
    ``text_`` is not one JSON array (the caller then words the failure). Elements are
    found by ``json``'s decoder, as ``json.loads`` reads them (NaN, big integers and all)."""
    i = _skip(text_, 0)
    if text_[i:i + 1] != "[":
        return None
    i = _skip(text_, i + 1)
    out: list[str] = []
    if text_[i:i + 1] != "]":
        scan, skip, append = _SCAN, _skip, out.append
        while True:
            try:
                _, end = scan(text_, i)
            except (StopIteration, ValueError, RecursionError):
                return None
            append(text_[i:end])
            i = skip(text_, end)
            if text_[i:i + 1] == "]":
                break
            if text_[i:i + 1] != ",":
                return None
            i = skip(text_, i + 1)
    return out if _skip(text_, i + 1) == len(text_) else None
