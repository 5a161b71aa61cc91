"""Versioned JSON Schemas of the events Syncline accepts, and their validator.

`validate_event(message)` checks the CloudEvents envelope, then the `data` against the schema
of its `type` (v1). Errors name the field path and the rule that failed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

EVENT_TYPES_V1: tuple[str, ...] = tuple(sorted(
    entry.name.removesuffix(".json")
    for entry in resources.files("syncline.schemas").joinpath("events/v1").iterdir()
    if entry.name.endswith(".json") and not entry.name.startswith("_")
))  # adding an event type is adding its schema file


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    path: str  # e.g. "data.contract.start_date"
    rule: str  # e.g. "required", "pattern", "enum"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} ({self.rule})"


_REQUIRED = re.compile(r"^'(.+)' is a required property")


def _load(name: str) -> dict[str, Any]:
    text = resources.files("syncline.schemas").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _registry() -> Registry:
    resources_ = []
    for name in ("events/envelope.json", "events/v1/_defs.json",
                 *(f"events/v1/{t}.json" for t in EVENT_TYPES_V1)):
        schema = _load(name)
        resources_.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources_)


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_load(name), registry=_registry(), format_checker=FormatChecker())


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


def validate_event(message: Any) -> list[SchemaProblem]:
    """All problems with a CloudEvent dict; empty when it is valid."""
    if not isinstance(message, dict):
        return [SchemaProblem("(message)", "type", "a CloudEvent must be a JSON object")]
    problems = _problems(_validator("events/envelope.json"), message, "")
    if problems:
        return problems
    etype = message["type"]
    if etype not in EVENT_TYPES_V1:
        known = ", ".join(EVENT_TYPES_V1)
        return [SchemaProblem("type", "enum", f"unknown event type {etype!r}; known: {known}")]
    return _problems(_validator(f"events/v1/{etype}.json"), message["data"], "data")
