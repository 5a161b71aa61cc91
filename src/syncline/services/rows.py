"""A stored row as a plain JSON-ready dictionary, as the API and CLI print read models."""

from __future__ import annotations

from typing import Any


def plain_row(r: Any) -> dict[str, Any]:
    """Every column of ``r``; values other than text, integers and booleans (decimals, dates)
    as their text, so money keeps its exact digits."""
    return {k: (str(v) if v is not None and not isinstance(v, (str, int, bool)) else v)
            for k, v in r._mapping.items()}
