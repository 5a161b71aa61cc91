"""Xero over HTTP: OAuth 2.0, the tenant header, at most 5 calls in flight, error bodies.

- Auth [doc: developer.xero.com/documentation/guides/oauth2; connectors.md §7.1]:
  ``POST https://identity.xero.com/connect/token`` with HTTP Basic client authentication and
  ``grant_type=refresh_token`` (a standard app) or ``client_credentials`` (a Custom
  Connection). Access tokens last 30 minutes (``expires_in`` 1800): the SDK's ``OAuth2``
  refreshes a minute before expiry and once after a 401. Each refresh returns a NEW refresh
  token; ``on_rotate`` writes it to the token store before the access token is used.
- Every Accounting call carries ``xero-tenant-id`` (spec: ``requiredHeader``) and
  ``Accept: application/json`` (Xero answers XML otherwise). One OAuth connection serves every
  tenant; one ``VendorClient`` per tenant.
- Limits [doc: developer.xero.com/faq/limits]: 5 calls in flight, 60 a minute and 5,000 a
  day per tenant. A per-tenant semaphore (``Gate``, process-wide) holds each call from send
  until its body is read, so no more than ``max_in_flight`` are ever open; 429 waits
  ``Retry-After`` (the SDK policy; a Retry-After beyond ``max_wait``, such as the daily limit,
  fails at once as ``RateLimited`` and the outbox retries later).
- Errors [spec: ``Error`` / ``Element`` / ``ValidationError``]: ``{"ErrorNumber", "Type",
  "Message", "Elements": [{…, "ValidationErrors": [{"Message"}]}]}`` → the message names each
  validation error, the code is ``Type`` (``ValidationException``); a 400 is permanent (the
  ERP target turns it into ``Refused``). The OAuth problem body on 401/403 (``Title``,
  ``Detail``) is read too.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from syncline.connectors.sdk.auth import OAuth2
from syncline.connectors.sdk.errors import VendorError
from syncline.connectors.sdk.http import RetryPolicy, VendorClient, json_decimal
from syncline.connectors.sdk.secrets import Secret
from syncline.connectors.xero.tokens import FileTokenStore

VENDOR = "xero"
POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, default_wait=60.0, max_wait=300.0)
MAX_KEY = 128  # Idempotency-Key: "128 character max" [spec: parameters/idempotencyKey]


_DECIMAL = re.compile(r'"@@decimal:(-?[0-9.E+-]+)@@"')


def encode(body: Any) -> bytes:
    """JSON with every ``Decimal`` written as a JSON number, digit for digit (json cannot
    write a Decimal, and a float would not be exact)."""
    def default(value: Any) -> str:
        if isinstance(value, Decimal):
            return f"@@decimal:{value}@@"
        raise TypeError(f"{type(value).__name__} is not JSON")
    return _DECIMAL.sub(r"\1", json.dumps(body, default=default)).encode()


def error_of(response: httpx.Response) -> tuple[str, str | None]:
    try:
        body = response.json()
    except ValueError:
        return (response.text[:300] or response.reason_phrase), None
    if not isinstance(body, dict):
        return str(body)[:300], None
    if "Title" in body or "Detail" in body:  # the identity problem body (401/403)
        return f"{body.get('Title', '')}: {body.get('Detail', '')}".strip(": "), \
            str(body.get("Title") or "") or None
    message = str(body.get("Message") or response.reason_phrase)
    details = [str(v.get("Message")) for el in body.get("Elements") or [] if isinstance(el, dict)
               for v in el.get("ValidationErrors") or [] if isinstance(v, dict)]
    if details:
        message += ": " + "; ".join(details[:5])
    kind = body.get("Type")
    return message, str(kind) if kind else None


@dataclass
class Grant:
    """The token request's form: a refresh token from the store, or client credentials."""

    kind: str
    store: FileTokenStore | None = None

    def __call__(self) -> dict[str, str]:
        if self.kind == "client_credentials":
            return {"grant_type": "client_credentials"}
        assert self.store is not None
        token = self.store.load()
        if token is None:
            raise VendorError(VENDOR, "no refresh token: run the consent flow and configure "
                              "refresh_token")
        return {"grant_type": "refresh_token", "refresh_token": token.reveal()}


def oauth(*, client_id: str, client_secret: Secret, grant: Grant, token_url: str,
          transport: httpx.BaseTransport | None, clock: Callable[[], float]) -> OAuth2:
    on_rotate = grant.store.save if grant.store is not None else None
    return OAuth2(VENDOR, token_url, grant=grant, transport=transport,
                  client_auth=(client_id, client_secret), on_rotate=on_rotate, clock=clock)


_GATES: dict[str, threading.BoundedSemaphore] = {}
_GATES_LOCK = threading.Lock()


def gate_of(tenant_id: str, limit: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore of one tenant (Xero counts calls per tenant and app)."""
    with _GATES_LOCK:
        if tenant_id not in _GATES:
            _GATES[tenant_id] = threading.BoundedSemaphore(limit)
        return _GATES[tenant_id]


class Gate(httpx.BaseTransport):
    """A transport that lets at most the semaphore's count of calls be open at once."""

    def __init__(self, inner: httpx.BaseTransport, semaphore: threading.BoundedSemaphore):
        self.inner, self.semaphore = inner, semaphore

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.semaphore:
            response = self.inner.handle_request(request)
            response.read()
            return response

    def close(self) -> None:
        self.inner.close()


class XeroApi:
    """One tenant's Accounting API: paged reads, writes with an idempotency key."""

    def __init__(self, client: VendorClient, tenant_id: str, page_size: int = 100) -> None:
        self.client, self.tenant_id, self.page_size = client, tenant_id, page_size

    def get(self, path: str, params: dict[str, Any] | None = None,
            since: str | None = None) -> dict[str, Any]:
        headers = {"If-Modified-Since": since} if since else {}
        body: dict[str, Any] = self.client.get_json(path, params=params or {}, headers=headers)
        return body

    def pages(self, path: str, key: str, params: dict[str, Any] | None = None,
              since: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """``page`` = 1, 2, … (the parameter Xero documents; there is no next link) until a
        short page or ``pagination.pageCount``."""
        page = 1
        while True:
            body = self.get(path, dict(params or {}, page=page, pageSize=self.page_size), since)
            items = list(body.get(key) or [])
            yield items
            count = (body.get("pagination") or {}).get("pageCount")
            if len(items) < self.page_size or (count is not None and page >= int(count)):
                return
            page += 1

    def write(self, method: str, path: str, body: dict[str, Any], key: str,
              params: dict[str, Any] | None = None) -> dict[str, Any]:
        if len(key) > MAX_KEY:
            raise VendorError(VENDOR, f"Idempotency-Key longer than {MAX_KEY} characters")
        response = self.client.request(method, path, content=encode(body),
                                       params=params or {},
                                       headers={"Idempotency-Key": key,
                                                "Content-Type": "application/json"})
        out: dict[str, Any] = json_decimal(response)
        return out


def tenant_client(auth: OAuth2, tenant_id: str, *, base_url: str, limit: int,
                  transport: httpx.BaseTransport | None,
                  sleep: Callable[[float], None]) -> VendorClient:
    gated = Gate(transport or httpx.HTTPTransport(), gate_of(tenant_id, limit))
    return VendorClient(VENDOR, base_url, auth=auth, transport=gated, sleep=sleep,
                        policy=POLICY, error_of=error_of,
                        headers={"Accept": "application/json", "xero-tenant-id": tenant_id})
