"""Syncline ids: a type prefix and a ULID (``cus_01J…``)."""

from __future__ import annotations

from ulid import ULID


def new_id(prefix: str) -> str:
    return f"{prefix}_{ULID()}"
