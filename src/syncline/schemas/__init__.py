"""Versioned JSON Schemas of the events Syncline accepts, and their validator.

`validate_event(message)` checks the CloudEvents envelope, then the `data` against the schema
of its `type` (v1). Errors name the field path and the rule that failed.

Two validators, compiled once per schema: a fast one (jsonschema-rs, Rust, draft 2020-12)
answers "valid?" for every message; only a message it refuses goes through the reference one
(python-jsonschema's `iter_errors`), which words the problems, so the messages are the same
as ever. Formats are checked by both: `date` by `is_date` (Python's `date.fromisoformat`, as
before) in the reference one and by jsonschema-rs's own full-date less the year 0000 in the
fast one, `date-time` (RFC 3339) by jsonschema-rs's own check in the fast one and
`is_date_time` in the reference one (each written to agree with the other, and tested to:
tests/test_ingest_validation.py). What the fast one accepts the reference one accepts (a
property test checks it); where the fast one is stricter — Rust's `$` does not match before a
final newline as Python's does — it refuses, the reference one is asked, and its answer wins.

The fast path is one call a message: per event type one compiled schema, the envelope and its
`data` against the type's schema together, with no call back into Python (each cost a few µs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

EVENT_TYPES_V1: tuple[str, ...] = tuple(sorted(
    entry.name.removesuffix(".json")
    for entry in resources.files("syncline.schemas").joinpath("events/v1").iterdir()
    if entry.name.endswith(".json") and not entry.name.startswith("_")
))  # adding an event type is adding its schema file
_KNOWN = frozenset(EVENT_TYPES_V1)
ENVELOPE = "events/envelope.json"


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    path: str  # e.g. "data.contract.start_date"
    rule: str  # e.g. "required", "pattern", "enum"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} ({self.rule})"


_REQUIRED = re.compile(r"^'(.+)' is a required property")

# RFC 3339 §5.6 date-time: full-date "T" full-time; "T" and "Z" may be lower case (§5.6 NOTE).
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))",
    re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def is_date(value: object) -> bool:
    """JSON Schema `date` (RFC 3339 full-date), as python-jsonschema has always checked it."""
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_date_time(value: object) -> bool:
    """JSON Schema `date-time` (RFC 3339 date-time: a date, a time and an offset).

    A leap second (:60) is valid only at 23:59:60 UTC, as the JSON Schema test suite has it.
    """
    if not isinstance(value, str):
        return True
    found = _DATE_TIME.fullmatch(value)
    if not found:
        return False
    year, month, day, hour, minute, second = (int(found.group(i)) for i in range(1, 7))
    sign, off_h, off_m = found.group(7), found.group(8), found.group(9)
    offset = 0
    if sign:
        if int(off_h) > 23 or int(off_m) > 59:
            return False
        offset = (int(off_h) * 60 + int(off_m)) * (1 if sign == "+" else -1)
    try:
        date(year or 2000, month, day)  # year 0000 (a leap year, like 2000) is valid
    except ValueError:
        return False
    if hour > 23 or minute > 59 or second > 60:
        return False
    return second < 60 or (hour * 60 + minute - offset) % 1440 == 23 * 60 + 59


FORMATS: dict[str, Callable[[object], bool]] = {"date": is_date, "date-time": is_date_time}
# The fast validator's `date`: jsonschema-rs's own full-date (RFC 3339: ASCII digits, a real
# day of the Gregorian calendar) accepts the year 0000, which `date.fromisoformat` refuses:
# refused here too (tested against `is_date`: tests/test_ingest_validation.py).
_NOT_YEAR_ZERO = {"not": {"pattern": "^0000"}}


def _format_checker() -> FormatChecker:
    checker = FormatChecker()  # the instance's own copy of the checks: the global one is kept
    for name, check in FORMATS.items():
        checker.checks(name)(check)
    return checker


def _load(name: str) -> dict[str, Any]:
    text = resources.files("syncline.schemas").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _names() -> tuple[str, ...]:
    return (ENVELOPE, "events/v1/_defs.json", *(f"events/v1/{t}.json" for t in EVENT_TYPES_V1))


@cache
def _registry() -> Registry:
    resources_ = []
    for name in _names():
        schema = _load(name)
        resources_.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources_)


@cache
def _validator(name: str) -> Draft202012Validator:
    """The reference validator (python-jsonschema): it words the problems."""
    return Draft202012Validator(_load(name), registry=_registry(), format_checker=_format_checker())


def _fast_schema(schema: Any) -> Any:
    """A schema as the fast validator is given it: every `date` also refuses the year 0000."""
    if isinstance(schema, list):
        return [_fast_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _fast_schema(v) for k, v in schema.items()}
    if out.get("format") == "date":
        out["allOf"] = [*out.get("allOf", []), _NOT_YEAR_ZERO]
    return out


@cache
def _fast_registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry([(s["$id"], _fast_schema(s)) for s in map(_load, _names())])


@cache
def _fast_events() -> dict[str, Callable[[Any], bool]]:
    """Per event type, one `is_valid` for a whole message: the envelope, and its `data`
    against the type's schema (the envelope requires `data`)."""
    envelope_id = _load(ENVELOPE)["$id"]
    out: dict[str, Callable[[Any], bool]] = {}
    for etype in EVENT_TYPES_V1:
        type_id = _load(f"events/v1/{etype}.json")["$id"]
        compiled = jsonschema_rs.Draft202012Validator(
            {"allOf": [{"$ref": envelope_id}], "properties": {"data": {"$ref": type_id}}},
            registry=_fast_registry(), validate_formats=True)
        out[etype] = compiled.is_valid
    return out


def schema_for(event_type: str) -> dict[str, Any]:
    return _load(f"events/v1/{event_type}.json")


def _problems(validator: Draft202012Validator, doc: Any, prefix: str) -> list[SchemaProblem]:
    out = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        parts = [prefix] if prefix else []
        for p in err.absolute_path:
            if isinstance(p, int):
                parts[-1] = f"{parts[-1]}[{p}]" if parts else f"[{p}]"
            else:
                parts.append(str(p))
        if err.validator == "required":
            found = _REQUIRED.match(err.message)
            parts.append(found.group(1) if found else "?")
        path = ".".join(parts) or "(message)"
        out.append(SchemaProblem(path=path, rule=str(err.validator), message=err.message))
    return out


def is_valid_event(message: Any) -> bool:
    """The fast path: is this JSON-decoded CloudEvent valid? (No wording of problems.)"""
    if not isinstance(message, dict):
        return False
    etype = message.get("type")
    valid = _fast_events().get(etype) if isinstance(etype, str) else None
    if valid is None:  # not a known type: the reference words it
        return False
    try:
        return valid(message)
    except (ValueError, TypeError, OverflowError):  # not a JSON value: let the reference judge
        return False


def validate_event(message: Any) -> list[SchemaProblem]:
    """All problems with a CloudEvent dict; empty when it is valid."""
    if is_valid_event(message):
        return []
    return explain_event(message)


def explain_event(message: Any) -> list[SchemaProblem]:
    """The reference validation (python-jsonschema): every problem, worded."""
    if not isinstance(message, dict):
        return [SchemaProblem("(message)", "type", "a CloudEvent must be a JSON object")]
    problems = _problems(_validator(ENVELOPE), message, "")
    if problems:
        return problems
    etype = message["type"]
    if etype not in _KNOWN:
        known = ", ".join(EVENT_TYPES_V1)
        return [SchemaProblem("type", "enum", f"unknown event type {etype!r}; known: {known}")]
    return _problems(_validator(f"events/v1/{etype}.json"), message["data"], "data")
