"""The API's OpenAPI document, as checked in at docs/openapi.json, and what of a change
breaks clients.

Regenerate after a reviewed change of the API (tests/contracts/test_openapi.py fails until
the committed document equals the generated one, and names breaking changes)::

    .venv/bin/python -m syncline.api.openapi > docs/openapi.json
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def document() -> dict[str, Any]:
    """The document of the app as `create_app` builds it (a throwaway SQLite database)."""
    from syncline.api.app import create_app
    from syncline.bootstrap import bootstrap
    from syncline.config import Settings

    with tempfile.TemporaryDirectory() as folder:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(folder) / 'openapi.db'}",
                                    api_keys="openapi"), durable=False)
        try:
            return create_app(system, background=False).openapi()
        finally:
            system.engine.dispose()


def dumps(doc: dict[str, Any]) -> str:
    """The document as checked in: sorted keys, two-space indent, a final newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _params(operation: dict[str, Any]) -> dict[tuple[str, str], bool]:
    return {(p["in"], p["name"]): bool(p.get("required")) for p in
            operation.get("parameters", [])}


def _body_required(operation: dict[str, Any]) -> bool:
    return bool(operation.get("requestBody", {}).get("required"))


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a client of `old` would find broken in `new`: a removed path or method, a
    removed parameter, a parameter or request body newly required."""
    out: list[str] = []
    old_paths, new_paths = old.get("paths", {}), new.get("paths", {})
    for path, item in sorted(old_paths.items()):
        if path not in new_paths:
            out.append(f"removed path {path}")
            continue
        for method in METHODS:
            if method not in item:
                continue
            if method not in new_paths[path]:
                out.append(f"removed {method.upper()} {path}")
                continue
            before, after = _params(item[method]), _params(new_paths[path][method])
            for key in sorted(before):
                if key not in after:
                    out.append(f"{method.upper()} {path}: removed {key[0]} parameter {key[1]}")
            for key, required in sorted(after.items()):
                if required and not before.get(key, False):
                    out.append(f"{method.upper()} {path}: {key[0]} parameter {key[1]} is "
                               "now required")
            if _body_required(new_paths[path][method]) and not _body_required(item[method]):
                out.append(f"{method.upper()} {path}: a request body is now required")
    return out


if __name__ == "__main__":
    sys.stdout.write(dumps(document()))
