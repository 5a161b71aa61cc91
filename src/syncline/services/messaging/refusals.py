"""A record a connector read but could not map (kept raw in the inbox and rejected)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """A record a connector read but could not map: kept raw and rejected with ``reason``.

    ``event_id`` names the vendor record (and its version), ``field`` the vendor field at
    fault; ``etype`` the canonical type it would have become. A later corrected record is a
    new version, so a new id; the same record read again is a duplicate.
    """

    source: str
    event_id: str
    raw: str
    reason: str
    etype: str | None = None
    field: str = "(record)"
