"""The OpenAPI document checked in at docs/openapi.json is the API's: an unreviewed change
fails here, and the failure names what of it breaks clients (removed paths, methods or
parameters, newly required ones). After reviewing, regenerate:

    .venv/bin/python -m syncline.api.openapi > docs/openapi.json
"""

from __future__ import annotations

import json
from pathlib import Path

from syncline.api.openapi import breaking_changes, document, dumps

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = "python -m syncline.api.openapi > docs/openapi.json"


def test_the_committed_openapi_document_is_the_apis() -> None:
    current = document()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    if dumps(current) == COMMITTED.read_text(encoding="utf-8"):
        return
    broken = breaking_changes(committed, current)
    added = sorted(set(current["paths"]) - set(committed["paths"]))
    raise AssertionError(
        "docs/openapi.json differs from the API. "
        + (f"BREAKING for clients: {'; '.join(broken)}. " if broken else "No breaking change. ")
        + (f"New paths: {', '.join(added)}. " if added else "")
        + f"Review, then regenerate: {REGENERATE}")


def test_every_operation_is_documented_with_its_responses() -> None:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            assert operation.get("responses"), (method, path)


def _doc(paths: dict[str, object]) -> dict[str, object]:
    return {"openapi": "3.1.0", "paths": paths}


def test_breaking_changes_are_named() -> None:
    old = _doc({
        "/v1/a": {"get": {"parameters": [{"in": "query", "name": "q", "required": False},
                                         {"in": "query", "name": "r"}]},
                  "post": {}},
        "/v1/b": {"get": {}}})
    new = _doc({
        "/v1/a": {"get": {"parameters": [{"in": "query", "name": "q", "required": True},
                                         {"in": "query", "name": "s", "required": True}]},
                  "put": {}},
        "/v1/c": {"get": {}}})
    assert breaking_changes(old, new) == [
        "GET /v1/a: removed query parameter r",
        "GET /v1/a: query parameter q is now required",
        "GET /v1/a: query parameter s is now required",
        "removed POST /v1/a",
        "removed path /v1/b",
    ]
    assert breaking_changes(old, old) == []
    # adding paths, methods and optional parameters breaks nobody
    more = _doc({**old["paths"], "/v1/z": {"get": {}}})  # type: ignore[dict-item]
    assert breaking_changes(old, more) == []
