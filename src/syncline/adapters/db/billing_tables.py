"""Tables of the billing engine's persistence, on the shared metadata (see tables.py)."""

from __future__ import annotations

from syncline.adapters.db.tables import metadata

__all__ = ["metadata"]
