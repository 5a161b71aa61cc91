"""HubSpot over HTTP: credentials, the retry policy, the error body, and the four calls.

- Auth: a private-app token (``Authorization: Bearer <token>``), or OAuth 2.0 with a refresh
  token at ``POST /oauth/v1/token`` (form: ``grant_type=refresh_token``, ``client_id``,
  ``client_secret``, ``refresh_token``). Access tokens last 30 minutes: the SDK's ``OAuth2``
  refreshes on the clock from ``expires_in`` and once after a 401. HubSpot answers the refresh
  token with the token response; if it ever hands back a different one, the next refresh uses
  it (kept in memory: the configured reference cannot be written back).
- Limits: 429 waits ``Retry-After`` when sent, else 10 s (HubSpot's burst limit is a rolling
  10-second window; the search API allows about 4 requests a second per token); 5xx back off
  exponentially; both bounded (``RetryPolicy``).
- Errors: the body ``{"status","message","correlationId","category","errors":[…]}`` (every
  field optional) becomes the ``VendorError`` message (with the correlation id, for HubSpot
  support) and its ``category`` the code (``VALIDATION_ERROR``, ``RATE_LIMITS``…).
- Reads (connectors.md §2.3): ``POST {objects}/deals/search``; v4 associations
  ``POST {associations}/{from}/{to}/batch/read`` (continued per id with ``after``); batch reads
  ``POST {objects}/{type}/batch/read``, 100 ids a request (the cap is unconfirmed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from syncline.connectors.sdk.auth import OAuth2, bearer
from syncline.connectors.sdk.errors import VendorError
from syncline.connectors.sdk.http import Authenticator, RetryPolicy, VendorClient
from syncline.connectors.sdk.secrets import Secret

VENDOR = "hubspot"
BASE_URL = "https://api.hubapi.com"
TOKEN_PATH = "/oauth/v1/token"
BATCH = 100
POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, default_wait=10.0)


def error_of(response: httpx.Response) -> tuple[str, str | None]:
    """HubSpot's error body → (message, category); defensive, every field is optional."""
    try:
        body = response.json()
    except ValueError:
        return (response.text[:300] or response.reason_phrase), None
    if not isinstance(body, dict):
        return str(body)[:300], None
    message = str(body.get("message") or response.reason_phrase)
    details = [str(e.get("message")) for e in body.get("errors") or []
               if isinstance(e, dict) and e.get("message")]
    if details:
        message += " (" + "; ".join(details[:3]) + ")"
    if body.get("correlationId"):
        message += f" [correlationId {body['correlationId']}]"
    category = body.get("category") or body.get("errorType")
    return message, str(category) if category else None


def is_throttled(response: httpx.Response) -> bool:
    """A throttle HubSpot names in the body (``RATE_LIMITS``) under another status."""
    if response.status_code == 429:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("category") == "RATE_LIMITS"


@dataclass
class RefreshGrant:
    """The refresh-token grant's form; the refresh token follows a rotation."""

    client_id: str
    client_secret: Secret
    refresh_token: Secret

    def __call__(self) -> dict[str, str]:
        return {"grant_type": "refresh_token", "client_id": self.client_id,
                "client_secret": self.client_secret.reveal(),
                "refresh_token": self.refresh_token.reveal()}

    def rotate(self, token: str) -> None:
        self.refresh_token = Secret(token)


def oauth(grant: RefreshGrant, *, base_url: str, transport: httpx.BaseTransport | None,
          clock: Callable[[], float]) -> OAuth2:
    return OAuth2(VENDOR, base_url.rstrip("/") + TOKEN_PATH, grant=grant, transport=transport,
                  on_rotate=grant.rotate, clock=clock)


def private_app(token: Secret) -> Authenticator:
    return bearer(token)


class HubSpotApi:
    """The calls the deals stream needs; pages are the vendor's JSON bodies."""

    def __init__(self, client: VendorClient, *, objects_path: str = "/crm/v3/objects",
                 associations_path: str = "/crm/v4/associations") -> None:
        self.client = client
        self.objects = objects_path.rstrip("/")
        self.associations_path = associations_path.rstrip("/")

    def search_path(self, object_type: str) -> str:
        return f"{self.objects}/{object_type}/search"

    def search(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.client.request(
            "POST", self.search_path(object_type), json=body).json()
        return result

    def associations(self, from_type: str, to_type: str, ids: list[str]
                     ) -> dict[str, list[dict[str, Any]]]:
        """Every association of each id (``{id: [{"toObjectId", "associationTypes"}]}``),
        following each result's own ``paging.next.after``; an id with none is absent."""
        url = f"{self.associations_path}/{from_type}/{to_type}/batch/read"
        found: dict[str, list[dict[str, Any]]] = {}
        for chunk in _chunks(ids):
            inputs: list[dict[str, str]] = [{"id": i} for i in chunk]
            while inputs:
                body = self.client.request("POST", url, json={"inputs": inputs}).json()
                inputs = []
                for result in body.get("results") or []:
                    from_id = str(result["from"]["id"])
                    found.setdefault(from_id, []).extend(result.get("to") or [])
                    after = ((result.get("paging") or {}).get("next") or {}).get("after")
                    if after:
                        inputs.append({"id": from_id, "after": str(after)})
        return found

    def batch_read(self, object_type: str, ids: list[str], properties: list[str]
                   ) -> dict[str, dict[str, Any]]:
        url = f"{self.objects}/{object_type}/batch/read"
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(sorted(set(ids))):
            body = self.client.request("POST", url, json={
                "properties": properties, "inputs": [{"id": i} for i in chunk]}).json()
            for record in body.get("results") or []:
                out[str(record["id"])] = record
        return out

    def property_exists(self, object_type: str, name: str) -> bool:
        try:
            self.client.request("GET", f"/crm/v3/properties/{object_type}/{name}")
        except VendorError as err:
            if err.status == 404:
                return False
            raise
        return True


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]


def vendor_client(auth: Authenticator, *, base_url: str, transport: httpx.BaseTransport | None,
                  sleep: Callable[[float], None]) -> VendorClient:
    return VendorClient(VENDOR, base_url, auth=auth, transport=transport, sleep=sleep,
                        policy=POLICY, error_of=error_of, is_throttled=is_throttled,
                        headers={"Accept": "application/json"})
