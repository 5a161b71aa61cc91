"""Event schema changes stay backward compatible: each schema of src/syncline/schemas/events
(the envelope and v1) is compared with its committed snapshot (tests/contracts/snapshots):
no property removed, no field newly required, no enum value removed, at any depth. A
compatible change still fails ``test_snapshots_are_current`` until the snapshot is updated
(a reviewed change)::

    .venv/bin/python -m tests.contracts.test_event_schemas --update

An incompatible change belongs in a new version (events/v2), not in v1.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "src" / "syncline" / "schemas" / "events"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots" / "events"


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.json"))


def _nodes(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema with its path (properties, items, $defs, allOf/anyOf/oneOf)."""
    if not isinstance(schema, dict):
        return
    yield path or "(root)", schema
    for name, sub in schema.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{name}" if path else name)
    for key in ("$defs", "definitions"):
        for name, sub in schema.get(key, {}).items():
            yield from _nodes(sub, f"{path}#{key}/{name}")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{path}[]")
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from _nodes(sub, f"{path}/{key}[{i}]")


def incompatibilities(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a sender valid against ``old`` could find refused by ``new``, or a reader of
    ``old`` could miss in ``new``."""
    out: list[str] = []
    after = dict(_nodes(new))
    for path, node in _nodes(old):
        if path not in after:
            out.append(f"{path}: removed")
            continue
        now = after[path]
        removed = set(node.get("properties", {})) - set(now.get("properties", {}))
        out += [f"{path}: property {p!r} removed" for p in sorted(removed)]
        required = set(now.get("required", [])) - set(node.get("required", []))
        out += [f"{path}: {r!r} newly required" for r in sorted(required)]
        if "enum" in node:
            gone = [v for v in node["enum"] if v not in now.get("enum", node["enum"])]
            out += [f"{path}: enum value {v!r} removed" for v in gone]
    return out


def _load(folder: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / name).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", _files(SNAPSHOTS))
def test_schema_is_backward_compatible_with_its_snapshot(name: str) -> None:
    assert (SCHEMAS / name).exists(), f"{name} was removed: a published schema stays"
    problems = incompatibilities(_load(SNAPSHOTS, name), _load(SCHEMAS, name))
    assert not problems, f"{name} is not backward compatible: " + "; ".join(problems)


def test_snapshots_are_current() -> None:
    assert _files(SCHEMAS) == _files(SNAPSHOTS), (
        "a schema has no snapshot (or a snapshot no schema): review, then run "
        "python -m tests.contracts.test_event_schemas --update")
    for name in _files(SCHEMAS):
        assert _load(SCHEMAS, name) == _load(SNAPSHOTS, name), (
            f"{name} changed compatibly: review, then run "
            "python -m tests.contracts.test_event_schemas --update")


def test_incompatibilities_are_found() -> None:
    old: dict[str, Any] = {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "string", "enum": ["x", "y"]},
        "b": {"type": "object", "properties": {"c": {"type": "integer"}}},
        "d": {"type": "array", "items": {"type": "object", "properties": {"e": {}}}}}}
    new: dict[str, Any] = {"type": "object", "required": ["a", "b"], "properties": {
        "a": {"type": "string", "enum": ["x"]},
        "b": {"type": "object", "required": ["c"], "properties": {"c": {"type": "integer"}}},
        "d": {"type": "array", "items": {"type": "object", "properties": {}}},
        "f": {"type": "string"}}}
    assert incompatibilities(old, new) == [
        "(root): 'b' newly required", "a: enum value 'y' removed", "b: 'c' newly required",
        "d[]: property 'e' removed", "d[].e: removed"]
    assert incompatibilities(old, old) == []
    assert incompatibilities(new, {**new, "properties": {**new["properties"], "g": {}}}) == []


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    shutil.rmtree(SNAPSHOTS, ignore_errors=True)
    shutil.copytree(SCHEMAS, SNAPSHOTS, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    print(f"snapshots of {len(_files(SNAPSHOTS))} schemas written to {SNAPSHOTS}")
