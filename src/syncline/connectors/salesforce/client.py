"""Talking to a Salesforce org: OAuth 2.0 login, the REST client, errors, SOQL paging.

- **JWT bearer** (server to server, no secret): an RS256 assertion signed with the connected
  app's private key, claims ``iss`` = consumer key, ``sub`` = run-as username, ``aud`` = the
  login host, ``exp`` = now + 3 min, posted to ``<login_url>/services/oauth2/token``. No
  refresh token comes back: a 401 mints a new assertion (connectors.md §1.1).
- **Client credentials**: ``client_id`` + ``client_secret`` posted to the org's My Domain
  token endpoint.
- **Errors**: Salesforce answers a JSON array ``[{"message","errorCode","fields"}]``; a 403
  ``REQUEST_LIMIT_EXCEEDED`` is its rate limit (not 429) and is retried like one; a 401 after
  a fresh token and any other 403 are ``AuthError`` with what to fix (§1.4).
- **Paging**: ``query`` follows ``nextRecordsUrl`` until ``done`` (never builds a URL) and
  parses numbers as ``Decimal``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import jwt

from syncline.connectors.sdk.auth import OAuth2
from syncline.connectors.sdk.http import VendorClient
from syncline.connectors.sdk.secrets import Secret

VENDOR = "salesforce"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME = 180  # seconds: Salesforce wants exp a few minutes ahead


def jwt_auth(*, login_url: str, client_id: str, username: str, private_key: Secret,
             clock: Callable[[], datetime], transport: httpx.BaseTransport | None) -> OAuth2:
    login = login_url.rstrip("/")

    def grant() -> dict[str, str]:
        now = int(clock().timestamp())
        claims = {"iss": client_id, "sub": username, "aud": login, "exp": now + JWT_LIFETIME}
        assertion = jwt.encode(claims, private_key.reveal(), algorithm="RS256")
        return {"grant_type": JWT_GRANT, "assertion": assertion}

    return OAuth2(VENDOR, f"{login}/services/oauth2/token", grant=grant, transport=transport,
                  clock=lambda: clock().timestamp())


def client_credentials_auth(*, instance_url: str, client_id: str, client_secret: Secret,
                            clock: Callable[[], datetime],
                            transport: httpx.BaseTransport | None) -> OAuth2:
    def grant() -> dict[str, str]:
        return {"grant_type": "client_credentials", "client_id": client_id,
                "client_secret": client_secret.reveal()}

    return OAuth2(VENDOR, f"{instance_url}/services/oauth2/token", grant=grant,
                  transport=transport, clock=lambda: clock().timestamp())


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, dict):
        body = [body]
    return [e for e in body if isinstance(e, dict)] if isinstance(body, list) else []


def is_throttled(response: httpx.Response) -> bool:
    """Salesforce's rate limit: 403 with ``REQUEST_LIMIT_EXCEEDED`` (the org's API limit)."""
    return response.status_code == 403 and any(
        e.get("errorCode") == "REQUEST_LIMIT_EXCEEDED" for e in errors_of(response))


def error_of(response: httpx.Response) -> tuple[str, str | None]:
    """The error array as one message (with the fields it names) and the first code."""
    errors = errors_of(response)
    parts = []
    for e in errors:
        text = str(e.get("message") or e.get("errorCode") or "error")
        if e.get("fields"):
            text += f" (fields: {', '.join(map(str, e['fields']))})"
        parts.append(text)
    message = "; ".join(parts) or response.text[:300] or response.reason_phrase
    code = str(errors[0].get("errorCode")) if errors and errors[0].get("errorCode") else None
    if response.status_code == 401:
        message = ("Salesforce refused a freshly issued token: check the connected app's "
                   "policies (pre-authorised profile or permission set for the run-as "
                   f"user) and the instance_url. Salesforce said: {message}")
    elif response.status_code == 403:
        message = ("the integration user may not do this: grant API Enabled and access to "
                   f"Opportunity, OpportunityLineItem and Account. Salesforce said: {message}")
    return message, code


def make_client(instance_url: str, auth: Any, *, transport: httpx.BaseTransport | None,
                sleep: Callable[[float], None] = time.sleep) -> VendorClient:
    return VendorClient(VENDOR, instance_url, auth=auth, transport=transport, sleep=sleep,
                        error_of=error_of, is_throttled=is_throttled)


def decoded(response: httpx.Response) -> Any:
    """A REST body with numbers as ``Decimal``: money never passes through float."""
    return json.loads(response.content, parse_float=Decimal)


def query(client: VendorClient, api: str, soql: str) -> Iterator[dict[str, Any]]:
    """Every page of a SOQL query: ``/query?q=…``, then each ``nextRecordsUrl`` until
    ``done``. Child relationships that did not fit are completed page by page too."""
    body = decoded(client.request("GET", f"{api}/query", params={"q": soql}))
    while True:
        for record in body.get("records") or []:
            complete_children(client, record)
        yield body
        link = body.get("nextRecordsUrl")
        if body.get("done", True) or not link:
            return
        body = decoded(client.request("GET", link))


def complete_children(client: VendorClient, record: dict[str, Any]) -> None:
    for value in record.values():
        if isinstance(value, dict) and "records" in value and value.get("done") is False:
            link = value.get("nextRecordsUrl")
            while link:
                more = decoded(client.request("GET", link))
                value["records"] = list(value["records"]) + list(more.get("records") or [])
                value["done"] = more.get("done", True)
                link = None if value["done"] else more.get("nextRecordsUrl")
