"""Harvest API v2 over HTTP: the three headers every request needs, and Harvest's errors.

``Authorization: Bearer <token>`` (a personal access token or an OAuth2 access token),
``Harvest-Account-Id: <id>`` and a non-empty ``User-Agent`` naming the app and a contact (a
missing User-Agent is a 400). Limits: 100 requests per 15 s; over it Harvest answers 429 with
``Retry-After`` (seconds), which the SDK client waits. Nothing to refresh: a 401 is an
``AuthError`` (a revoked token or a wrong account id).
"""

from __future__ import annotations

import httpx

from syncline.connectors.harvest.settings import HarvestSettings
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.auth import StaticHeaders, bearer
from syncline.connectors.sdk.http import VendorClient

VENDOR = "harvest"


def client(s: HarvestSettings, wiring: Wiring) -> VendorClient:
    auth = StaticHeaders({**bearer(s.token).headers, "Harvest-Account-Id": s.account_id})
    return VendorClient(VENDOR, s.base_url, auth=auth, transport=wiring.transport,
                        sleep=wiring.sleep, error_of=error_of,
                        headers={"User-Agent": s.user_agent, "Accept": "application/json"})


def error_of(response: httpx.Response) -> tuple[str, str | None]:
    """``{"message": …}`` or ``{"error": …, "error_description": …}`` (the body is not
    documented); else the text, cut short."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase, None
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("message", "error", "error_description") if body.get(k)]
        if parts:
            return " ".join(parts)[:300], str(body["error"]) if body.get("error") else None
    return response.text[:300], None
