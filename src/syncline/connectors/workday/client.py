"""Workday over HTTP: Basic (an Integration System User, RaaS) or OAuth 2.0 with a refresh
token (an "API Client for Integrations"), and Workday's error body as a message.

The token endpoint is ``https://{host}/ccx/oauth2/{tenant}/token`` (second-hand), posted
``grant_type=refresh_token`` with the client id and secret as HTTP Basic (unconfirmed whether
Workday also takes them in the form). Refresh tokens of such clients do not expire, so no
rotation is persisted. Rate limits are not published: 429 and 5xx back off (the SDK policy).
"""

from __future__ import annotations

import httpx

from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.auth import Basic, OAuth2
from syncline.connectors.sdk.http import Authenticator, VendorClient
from syncline.connectors.workday.settings import WorkdaySettings

VENDOR = "workday"


def authenticator(s: WorkdaySettings, wiring: Wiring) -> Authenticator:
    if s.auth == "basic":
        assert s.password is not None
        return Basic(s.username, s.password)
    assert s.refresh_token is not None and s.client_secret is not None
    token = s.refresh_token
    return OAuth2(VENDOR, s.token_url,
                  grant=lambda: {"grant_type": "refresh_token", "refresh_token": token.reveal()},
                  transport=wiring.transport, client_auth=(s.client_id, s.client_secret),
                  clock=lambda: wiring.clock().timestamp())


def client(s: WorkdaySettings, wiring: Wiring) -> VendorClient:
    return VendorClient(VENDOR, s.base_url, auth=authenticator(s, wiring),
                        transport=wiring.transport, sleep=wiring.sleep, error_of=error_of,
                        headers={"Accept": "application/json"})


def error_of(response: httpx.Response) -> tuple[str, str | None]:
    """``{"error": …, "errors": [{"error": …}]}`` as seen second-hand (the body is not
    published); anything else is the text, cut short."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase, None
    if isinstance(body, dict):
        parts = [str(body["error"])] if body.get("error") else []
        parts += [str(e.get("error")) for e in body.get("errors") or []
                  if isinstance(e, dict) and e.get("error")]
        if parts:
            return "; ".join(parts)[:300], body.get("code")
    return response.text[:300], None
