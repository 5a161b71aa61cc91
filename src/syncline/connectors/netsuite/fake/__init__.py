"""A stateful fake NetSuite (REST record API and SuiteQL) for tests and offline trials.

Use it as ``httpx.MockTransport(FakeNetSuite(...))``. Every request must carry a TBA header
the fake RECOMPUTES (``tba.base_string`` over the request it received, with the secrets it
was given): realm = the account id, the consumer key and token, ``HMAC-SHA256``, version
``1.0``, a nonce not seen before, the right signature; anything else is 401 with NetSuite's
``INVALID_LOGIN`` error body.

Endpoints:
- ``PUT /services/rest/record/v1/<type>/eid:<externalId>`` (customer, invoice, creditMemo,
  journalEntry): the upsert; 204 with ``Location: …/<type>/<internal id>`` (switch
  ``location=False`` to answer without it, as unconfirmed); one record per external id; an
  upsert of an existing record updates it: the fields it omits are kept (an ``apply``
  sublist the body does not carry stays as it is);
- ``DELETE …/<type>/eid:<externalId>`` (204, or 404);
- ``GET …/<type>/<id>``: the record's body fields; its sublists (``item``, ``line``,
  ``apply``) are ``{"links": […]}`` unless ``?expandSubResources=true`` (help "Format of
  Sublists and Subrecords", section_1545141947). An invoice also carries ``amountPaid``
  and ``amountRemaining`` (help "Use Case for Retrieving an Invoice", section_0210111448:
  the sample answer's ``"amountPaid": 0.0, "amountRemaining": 1000.0``): payments and
  credit memos applied, and what is left of the total;
- ``PATCH …/creditMemo/<id>``: an update (help "Updating a Record Instance",
  section_1545142173: omitted fields are unchanged); its ``apply`` lines update the line of
  the same ``doc`` and add the others (help "Updating a Sublist", section_1545295601, a
  keyed sublist); the result is checked as an upsert is (no more than the invoice owes,
  no more than the memo);
- ``POST /services/rest/query/v1/suiteql`` with ``Prefer: transient`` and ``{"q": …}``
  (``fake/suiteql.py``), ``limit`` (≤ 1000) and ``offset`` in the URL; answers ``links``
  (self, next), ``count``, ``hasMore``, ``items``, ``offset``, ``totalResults``. An offset
  that is not 0 must be one the fake handed out in a ``next`` link for that same query
  (a client that computes offsets itself gets 400).

Errors are NetSuite's body: ``type``, ``title``, ``status``, ``o:errorDetails`` [{``detail``,
``o:errorCode``, ``o:errorPath``?}]. Switches: ``throttle(n)`` answers the concurrency limit n
times — 429 or, with ``concurrency_status=400``, 400 ``SSS_REQUEST_LIMIT_EXCEEDED``;
``fail(n, status)``; ``unauthorized(n)`` (401 though the signature is right);
``drop_after_accept(n, error)`` stores an upsert and then raises ``httpx.ReadTimeout`` (or
``httpx.RemoteProtocolError``) from the transport; ``fail_suiteql_after(k, status)``.
``requests`` records every request; ``books`` holds the state (seed reference data, record
payments, read open balances).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import httpx

from syncline.connectors.netsuite import tba
from syncline.connectors.netsuite.client import dumps
from syncline.connectors.netsuite.fake import suiteql
from syncline.connectors.netsuite.fake.books import Books, Refusal

RECORD = "/services/rest/record/v1/"
SUITEQL = "/services/rest/query/v1/suiteql"
RECORD_TYPES = ("customer", "invoice", "creditMemo", "journalEntry")


class FakeNetSuite:
    def __init__(self, *, account_id: str = "1234567_SB1", consumer_key: str = "ck-fake",
                 consumer_secret: str = "cs-fake", token_id: str = "tk-fake",
                 token_secret: str = "ts-fake", concurrency_status: int = 429,
                 location: bool = True) -> None:
        self.account_id = account_id
        self.keys = (consumer_key, consumer_secret, token_id, token_secret)
        self.host = f"{account_id.lower().replace('_', '-')}.suitetalk.api.netsuite.com"
        self.concurrency_status, self.location = concurrency_status, location
        self.books = Books()
        self.requests: list[httpx.Request] = []
        self.nonces: set[str] = set()
        self._throttle = 0
        self._fail: list[int] = []
        self._unauthorized = 0
        self._drop: list[type[httpx.TransportError]] = []
        self._suiteql_after: tuple[int, int] | None = None
        self._suiteql_served = 0
        self._offsets: set[tuple[str, int]] = set()

    # -- switches ---------------------------------------------------------------------------
    def throttle(self, times: int) -> None:
        self._throttle += times

    def fail(self, times: int, status: int = 500) -> None:
        self._fail += [status] * times

    def unauthorized(self, times: int = 1) -> None:
        self._unauthorized += times

    def drop_after_accept(self, times: int = 1,
                          error: type[httpx.TransportError] = httpx.ReadTimeout) -> None:
        self._drop += [error] * times

    def fail_suiteql_after(self, served: int, status: int = 400) -> None:
        self._suiteql_after = (served, status)

    # -- HTTP -------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self._signed(request) or self._unauthorized:
            self._unauthorized = max(0, self._unauthorized - 1)
            return error(401, "INVALID_LOGIN", "Invalid login attempt. For more details, see "
                         "the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > "
                         "User Management > View Login Audit Trail.")
        if self._throttle:
            self._throttle -= 1
            if self.concurrency_status == 400:
                return error(400, "SSS_REQUEST_LIMIT_EXCEEDED", "Request limit exceeded.")
            return error(429, "CONCURRENCY_LIMIT_EXCEEDED",
                         "Concurrent request limit exceeded. Request blocked.")
        if self._fail:
            status = self._fail.pop(0)
            return error(status, "UNEXPECTED_ERROR", "An unexpected error occurred.")
        path = request.url.path
        if path == SUITEQL and request.method == "POST":
            return self._suiteql(request)
        if path.startswith(RECORD):
            return self._record(request, path[len(RECORD):])
        return error(404, "NONEXISTENT_ID", f"Record type or path {path} does not exist.")

    def _signed(self, request: httpx.Request) -> bool:
        params = tba.parse_header(request.headers.get("Authorization", ""))
        ck, cs, tk, ts = self.keys
        if (params.get("realm") != self.account_id or params.get("oauth_consumer_key") != ck
                or params.get("oauth_token") != tk
                or params.get("oauth_signature_method") != tba.METHOD
                or params.get("oauth_version") != "1.0" or request.url.host != self.host
                or not params.get("oauth_nonce") or params["oauth_nonce"] in self.nonces):
            return False
        oauth = {k: v for k, v in params.items() if k.startswith("oauth_")}
        expected = tba.signature(tba.base_string(request.method, request.url, oauth), cs, ts)
        if params.get("oauth_signature") != expected:
            return False
        self.nonces.add(params["oauth_nonce"])
        return True

    def _record(self, request: httpx.Request, rest: str) -> httpx.Response:
        rtype, _, key = rest.partition("/")
        if rtype not in RECORD_TYPES:
            return error(404, "NONEXISTENT_ID", f"Record type '{rtype}' does not exist.")
        if request.method in ("GET", "PATCH") and key.isdigit():
            if key not in self.books.records.get(rtype, {}):
                return error(404, "NONEXISTENT_ID", f"The record instance {key} does not "
                             "exist.")
            if request.method == "PATCH":
                return self._patch(request, rtype, key)
            expand = request.url.params.get("expandSubResources") == "true"
            body = self.books.read(rtype, key, expand=expand,
                                   url=f"https://{self.host}{RECORD}{rtype}/{key}")
            return httpx.Response(200, content=dumps(body),
                                  headers={"Content-Type": "application/json"})
        if not key.startswith("eid:"):
            return error(400, "INVALID_URL", "Use eid:<externalId> in this fake.")
        external = unquote(key[len("eid:"):])
        if request.method == "DELETE":
            return httpx.Response(204) if self.books.delete(rtype, external) else error(
                404, "NONEXISTENT_ID", f"No {rtype} with external id {external}.")
        if request.method != "PUT":
            return error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported here.")
        try:
            body = json.loads(request.content, parse_float=Decimal)
            internal, _ = self.books.upsert(rtype, external, body)
        except Refusal as no:
            return error(400, no.code, f"Error while accessing a resource. {no.detail}",
                         no.path)
        except (ValueError, KeyError) as bad:
            return error(400, "INVALID_CONTENT", f"Invalid request body: {bad}")
        if self._drop:
            raise self._drop.pop(0)("the connection dropped after NetSuite stored the record",
                                    request=request)
        headers = {"Location": f"https://{self.host}{RECORD}{rtype}/{internal}"} \
            if self.location else {}
        return httpx.Response(204, headers=headers)

    def _patch(self, request: httpx.Request, rtype: str, key: str) -> httpx.Response:
        if rtype != "creditMemo":
            return error(405, "METHOD_NOT_ALLOWED", f"This fake patches no {rtype}.")
        try:
            self.books.patch(rtype, key, json.loads(request.content, parse_float=Decimal))
        except Refusal as no:
            return error(400, no.code, f"Error while accessing a resource. {no.detail}",
                         no.path)
        except (ValueError, KeyError) as bad:
            return error(400, "INVALID_CONTENT", f"Invalid request body: {bad}")
        return httpx.Response(204, headers={
            "Location": f"https://{self.host}{RECORD}{rtype}/{key}"})

    def _suiteql(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Prefer") != "transient":
            return error(400, "INVALID_HEADER", "The Prefer header must be 'transient'.")
        if self._suiteql_after and self._suiteql_served >= self._suiteql_after[0]:
            return error(self._suiteql_after[1], "INVALID_PARAMETER", "the fake was told to "
                         "fail here")
        self._suiteql_served += 1
        try:
            query = str(json.loads(request.content)["q"])
            limit = int(request.url.params.get("limit", "1000"))
            offset = int(request.url.params.get("offset", "0"))
        except (ValueError, KeyError, TypeError):
            return error(400, "INVALID_CONTENT", "The body must be {\"q\": <query>}.")
        if not 1 <= limit <= 1000:
            return error(400, "INVALID_PARAMETER", "limit must be between 1 and 1000.")
        if offset and (query, offset) not in self._offsets:
            return error(400, "INVALID_PARAMETER", "Follow the next link NetSuite gave.")
        try:
            rows = suiteql.run(query, self.books.tables, self.books.payments_since)
        except suiteql.BadQuery as bad:
            return error(400, "INVALID_PARAMETER", f"Invalid search query. {bad}")
        page = rows[offset:offset + limit]
        more = offset + limit < len(rows)
        base = f"https://{self.host}{SUITEQL}"
        links = [{"rel": "self", "href": f"{base}?limit={limit}&offset={offset}"}]
        if more:
            self._offsets.add((query, offset + limit))
            links.append({"rel": "next", "href": f"{base}?limit={limit}&offset={offset + limit}"})
        items = [{"links": [], **row} for row in page]
        return httpx.Response(200, content=dumps({
            "links": links, "count": len(page), "hasMore": more, "items": items,
            "offset": offset, "totalResults": len(rows)}),
            headers={"Content-Type": "application/json"})


def error(status: int, code: str, detail: str, path: str | None = None) -> httpx.Response:
    entry: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path:
        entry["o:errorPath"] = path
    body = {"type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15",
            "title": httpx.codes.get_reason_phrase(status), "status": status,
            "o:errorDetails": [entry]}
    return httpx.Response(status, content=json.dumps(body).encode(),
                          headers={"Content-Type": "application/vnd.oracle.resource+json; "
                                   "type=error"})
