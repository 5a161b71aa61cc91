"""A stateful fake Xero: the identity server and the Accounting API of some organisations.

Use it as ``httpx.MockTransport(FakeXero(...))`` (a user can try the connector offline).
Built from XeroAPI/Xero-OpenAPI (xero_accounting.yaml) and developer.xero.com:

- ``POST https://identity.xero.com/connect/token``: HTTP Basic client auth; grants
  ``refresh_token`` (the refresh token ROTATES: the old one is refused afterwards, 400
  ``invalid_grant``) and ``client_credentials``; ``expires_in`` 1800.
- Every API call needs exactly ``Authorization: Bearer <a live access token>`` (else 401,
  the identity problem body), ``xero-tenant-id`` of a connected organisation (else 403) and
  ``Accept: application/json``.
- Reads: ``GET /Contacts|Invoices|CreditNotes|ManualJournals|Payments`` with ``where``
  (``Field=="value"`` joined by ``AND``; anything else is 400), ``InvoiceNumbers``,
  ``If-Modified-Since`` (``>=``), ``order=UpdatedDateUTC ASC``, ``page`` (1-based),
  ``pageSize`` (max 1000) and a ``pagination`` object; ``GET /Accounts|TaxRates|
  TrackingCategories|Organisation``. Xero pages by number, so there is no opaque cursor.
- Writes: ``PUT /Contacts|Invoices|CreditNotes|ManualJournals``, ``POST /Contacts/{id}``,
  ``PUT /CreditNotes/{id}/Allocations`` (``Allocations[]``: ``Invoice.InvoiceID``,
  ``Amount``, ``Date``; books.py ``allocate``).
  ``Idempotency-Key`` (≤ 128): the same key answers the stored first response and writes
  nothing. Rule breaks answer 400 ``ValidationException`` with ``Elements[].ValidationErrors``.
- Faults: ``throttle(n, retry_after)`` (429 + ``Retry-After`` + ``X-Rate-Limit-Problem``),
  ``fail(n, status)``, ``expire_token()`` (the live access tokens stop working: 401 once, then
  a refresh), ``drop_after_accept(n, error)`` (the write is stored, then the transport raises
  ``httpx.ReadTimeout`` or ``httpx.RemoteProtocolError``). Concurrency: more than ``limit``
  calls in flight on one tenant is a 429 ``concurrent`` and counted in ``violations``
  (``hold`` seconds keeps each call open so a test can overlap them); ``max_in_flight`` is
  the most seen. ``requests`` records every request.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx

from syncline.connectors.xero.client import encode
from syncline.connectors.xero.fake.books import Books, Invalid
from syncline.connectors.xero.mapping import xero_time

LISTS = {"Contacts", "Invoices", "CreditNotes", "ManualJournals", "Payments"}
_CLAUSE = re.compile(r'^\s*(\w+)\s*==\s*"((?:[^"\\]|\\.)*)"\s*$')


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=encode(_public(body)),
                          headers={"Content-Type": "application/json", **(headers or {})})


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _where(text: str) -> list[tuple[str, str]] | None:
    clauses = []
    for part in re.split(r"\s+AND\s+|\s*&&\s*", text):
        m = _CLAUSE.match(part)
        if not m:
            return None
        clauses.append((m.group(1), m.group(2).replace('\\"', '"').replace("\\\\", "\\")))
    return clauses


class FakeXero:
    def __init__(self, *, client_id: str = "xero-client", client_secret: str = "xero-secret",
                 refresh_token: str = "rt-0", tenants: dict[str, str] | None = None,
                 clock: Callable[[], datetime] | None = None, limit: int = 5) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token: str | None = refresh_token
        self.clock = clock or (lambda: datetime.now(UTC))
        self._last_ms = 0
        self.books = {t: Books(t, base, self._tick)
                      for t, base in (tenants or {"tenant-us": "USD"}).items()}
        self.live: set[str] = set()
        self._serial, self._tokens = itertools.count(1), itertools.count(1)
        self.requests: list[httpx.Request] = []
        self.token_requests: list[dict[str, str]] = []
        self.idempotent: dict[tuple[str, str], tuple[int, Any]] = {}
        self._throttle: list[tuple[str, str]] = []
        self._fail: list[int] = []
        self._drop: list[str] = []
        self.limit, self.hold = limit, 0.0
        self.in_flight: dict[str, int] = {}
        self.max_in_flight, self.violations = 0, 0
        self._lock = threading.Lock()

    def _tick(self) -> int:
        with self._lock:
            self._last_ms = max(self._last_ms + 1, int(self.clock().timestamp() * 1000))
            return self._last_ms

    # -- switches ---------------------------------------------------------------------------
    def throttle(self, times: int, retry_after: str = "2", problem: str = "minute") -> None:
        self._throttle += [(retry_after, problem)] * times

    def fail(self, times: int, status: int = 503) -> None:
        self._fail += [status] * times

    def expire_token(self) -> None:
        self.live.clear()

    def drop_after_accept(self, times: int = 1, error: str = "timeout") -> None:
        self._drop += [error] * times

    def writes(self, method: str = "PUT") -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.host == "api.xero.com"]

    # -- HTTP -------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "identity.xero.com":
            return self._token(request)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.live:
            return _json(401, {"Type": None, "Title": "Unauthorized", "Status": 401,
                               "Detail": "TokenExpired: token expired"},
                         {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        tenant = request.headers.get("xero-tenant-id", "")
        if tenant not in self.books:
            return _json(403, {"Type": None, "Title": "Forbidden", "Status": 403,
                               "Detail": "AuthenticationUnsuccessful"})
        if "application/json" not in request.headers.get("Accept", ""):
            return httpx.Response(406, text="the fake answers JSON only")
        with self._lock:
            self.in_flight[tenant] = self.in_flight.get(tenant, 0) + 1
            now_in = self.in_flight[tenant]
            self.max_in_flight = max(self.max_in_flight, now_in)
        try:
            if now_in > self.limit:
                self.violations += 1
                return _json(429, {"Title": "Too Many Requests", "Detail": "concurrent"},
                             {"Retry-After": "1", "X-Rate-Limit-Problem": "concurrent"})
            if self.hold:
                time.sleep(self.hold)
            return self._api(request, self.books[tenant])
        finally:
            with self._lock:
                self.in_flight[tenant] -= 1

    def _token(self, request: httpx.Request) -> httpx.Response:
        pair = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.token_requests.append(form)
        if request.headers.get("Authorization") != f"Basic {pair}":
            return _json(400, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if not self.refresh_token or form.get("refresh_token") != self.refresh_token:
                return _json(400, {"error": "invalid_grant"})
        elif grant != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type"})
        n = next(self._tokens)
        access = f"at-{n}"
        self.live.add(access)
        body: dict[str, Any] = {"access_token": access, "expires_in": 1800,
                                "token_type": "Bearer", "scope": "accounting.transactions"}
        if grant == "refresh_token":
            self.refresh_token = body["refresh_token"] = f"rt-{n}"
        return _json(200, body)

    def _api(self, request: httpx.Request, books: Books) -> httpx.Response:
        if self._throttle:
            wait, problem = self._throttle.pop(0)
            return _json(429, {"Title": "Too Many Requests"},
                         {"Retry-After": wait, "X-Rate-Limit-Problem": problem})
        if self._fail:
            return _json(self._fail.pop(0), {"Message": "the fake was told to fail"})
        parts = request.url.path.removeprefix("/api.xro/2.0/").split("/")
        if request.method == "GET":
            return self._get(request, books, parts[0])
        key = request.headers.get("Idempotency-Key")
        if key and len(key) > 128:
            return _json(400, {"Message": "Idempotency-Key is longer than 128 characters"})
        if key and (books.tenant_id, key) in self.idempotent:
            status, answer = self.idempotent[(books.tenant_id, key)]  # replayed, not written
        else:
            status, answer = self._write(request, books, parts)
            if key:
                self.idempotent[(books.tenant_id, key)] = (status, answer)
        if status == 200 and self._drop:
            error = self._drop.pop(0)
            if error == "timeout":
                raise httpx.ReadTimeout("the fake accepted, then the read timed out",
                                        request=request)
            raise httpx.RemoteProtocolError("the fake accepted, then dropped the connection",
                                            request=request)
        return _json(status, answer)

    def _write(self, request: httpx.Request, books: Books, parts: list[str]
               ) -> tuple[int, Any]:
        body = json.loads(request.content, parse_float=Decimal)
        resource = parts[0]
        items = body.get(resource) or []
        made = []
        try:
            if parts[0] == "CreditNotes" and parts[2:] == ["Allocations"] \
                    and request.method == "PUT":
                made = [books.allocate(parts[1], a) for a in body.get("Allocations") or []]
                return 200, {"Id": str(next(self._serial)), "Status": "OK", "Allocations": made}
            for item in items:
                if resource == "Contacts":
                    made.append(books.contact(item, parts[1] if len(parts) > 1 else None))
                elif resource in ("Invoices", "CreditNotes") and request.method == "PUT":
                    made.append(books.document(resource, item))
                elif resource == "ManualJournals" and request.method == "PUT":
                    made.append(books.journal(item))
                else:
                    return 404, {"Message": f"{request.method} /{'/'.join(parts)} is not faked"}
        except Invalid as bad:
            return 400, {"ErrorNumber": 10, "Type": "ValidationException",
                         "Message": "A validation exception occurred", "Elements": [
                             {**bad.element, "ValidationErrors": [
                                 {"Message": m} for m in bad.messages]}]}
        return 200, {"Id": str(next(self._serial)), "Status": "OK", resource: made}

    def _get(self, request: httpx.Request, books: Books, resource: str) -> httpx.Response:
        q = dict(request.url.params)
        if resource == "Organisation":
            return _json(200, {"Organisations": [books.organisation]})
        if resource in ("Accounts", "TaxRates", "TrackingCategories"):
            rows = {"Accounts": books.accounts, "TaxRates": books.tax_rates,
                    "TrackingCategories": books.tracking}[resource]
            return _json(200, {resource: rows})
        if resource not in LISTS:
            return _json(404, {"Message": "The resource you're looking for cannot be found"})
        rows = list(books.records[resource].values())
        if "where" in q:
            clauses = _where(q["where"])
            if clauses is None:
                return _json(400, {"Message": f"the fake cannot parse where={q['where']}"})
            rows = [r for r in rows if all(str(r.get(f)) == v for f, v in clauses)]
        if "InvoiceNumbers" in q:
            wanted = set(q["InvoiceNumbers"].split(","))
            rows = [r for r in rows if r.get("InvoiceNumber") in wanted]
        since = request.headers.get("If-Modified-Since")
        if since:
            floor = int(xero_time(since).timestamp() * 1000)
            rows = [r for r in rows if r["_updated"] >= floor]
        if q.get("order", "UpdatedDateUTC ASC") == "UpdatedDateUTC ASC":
            rows.sort(key=lambda r: r["_updated"])
        size = int(q.get("pageSize", 100))
        if not 1 <= size <= 1000:
            return _json(400, {"Message": "pageSize must be between 1 and 1000"})
        page = int(q.get("page", 1))
        chunk = rows[(page - 1) * size: page * size] if "page" in q else rows
        count = max(1, -(-len(rows) // size))
        return _json(200, {"Id": str(next(self._serial)), "Status": "OK",
                           "pagination": {"page": page, "pageSize": size, "pageCount": count,
                                          "itemCount": len(rows)}, resource: chunk})
