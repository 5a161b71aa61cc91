"""A stateful fake Salesforce org, built from the REST docs (connectors.md §1): use it as
``httpx.MockTransport(org)``.

- ``POST /services/oauth2/token``: the JWT bearer grant on the login host (RS256 assertion
  checked against the app's public key: ``iss``, ``sub``, ``aud``, ``exp``) and client
  credentials on the org's My Domain host; answers ``access_token`` + ``instance_url``, no
  refresh token.
- ``GET …/query?q=`` runs the SOQL (fake/soql.py) and pages ``page_size`` rows at a time
  behind an opaque ``nextRecordsUrl`` (a random locator: a client that builds URLs fails);
  child relationships page behind their own ``nextRecordsUrl`` past ``child_page_size``.
- ``PATCH …/sobjects/<Object>/<ExtIdField>/<value>``: upsert by external id (201 created,
  ``update_status`` on update — 204 or 200, unconfirmed which — 300 on several matches, 404
  with ``updateOnly=true`` and no match, 400 for the id field in the body or an unknown field).
- Switches: ``limit_exceeded`` (N × 403 ``REQUEST_LIMIT_EXCEEDED``), ``server_errors``
  (N × 503), ``expire_tokens()`` (the next call is 401 ``INVALID_SESSION_ID``), ``forbidden``
  (403 ``INSUFFICIENT_ACCESS``), ``lose_locators`` (queryMore → 400
  ``INVALID_QUERY_LOCATOR``). Every request is kept in ``requests``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import jwt

from syncline.connectors.salesforce.client import JWT_GRANT
from syncline.connectors.salesforce.fake import soql
from syncline.connectors.salesforce.fake.records import STANDARD, salesforce_id

Row = dict[str, Any]


class FakeOrg:
    def __init__(self, *, instance_url: str = "https://acme.my.salesforce.com",
                 login_url: str = "https://login.salesforce.com",
                 org_id: str = "00D5e000000AbCdEAK", client_id: str = "3MVG9fake.consumer",
                 username: str = "integration@acme.example", public_key: str | None = None,
                 client_secret: str | None = None, api_version: str = "v62.0",
                 page_size: int = 2000, child_page_size: int = 200, update_status: int = 204,
                 clock: Callable[[], float] = time.time,
                 parents: dict[str, tuple[str, str]] | None = None,
                 children: dict[str, tuple[str, str]] | None = None) -> None:
        self.instance_url, self.login_url = instance_url, login_url
        self.org_id, self.client_id, self.username = org_id, client_id, username
        self.public_key, self.client_secret = public_key, client_secret
        self.api = f"/services/data/{api_version}"
        self.page_size, self.child_page_size = page_size, child_page_size
        self.update_status, self.clock = update_status, clock
        self.store: dict[str, dict[str, Row]] = {}
        self.declared: dict[str, set[str]] = {}
        self.requests: list[httpx.Request] = []
        self.tokens: set[str] = set()
        self.token_grants: list[str] = []
        self.limit_exceeded = self.server_errors = 0
        self.forbidden = self.lose_locators = self._expire = False
        self._locators: dict[str, tuple[list[Row], int]] = {}
        self._used = 0
        self.schema = soql.Schema(
            fields=self.fields, rows=lambda o: list(self.store.get(o, {}).values()),
            parents={"Account": ("AccountId", "Account"), **(parents or {})},
            children={"OpportunityLineItems": ("OpportunityLineItem", "OpportunityId"),
                      **(children or {})},
            url=lambda o, i: f"{self.api}/sobjects/{o}/{i}")

    # -- state -----------------------------------------------------------------------------
    def fields(self, sobject: str) -> set[str]:
        known = set(STANDARD.get(sobject, ())) | self.declared.get(sobject, set())
        for row in self.store.get(sobject, {}).values():
            known |= set(row)
        return known

    def declare(self, sobject: str, *names: str) -> None:
        """Fields the org has even if no record fills them (custom fields)."""
        self.declared.setdefault(sobject, set()).update(names)

    def put(self, sobject: str, row: Row) -> Row:
        row = dict(row)
        row.setdefault("Id", salesforce_id(sobject, secrets.token_hex(6)))
        row.setdefault("SystemModstamp", self.stamp())
        self.store.setdefault(sobject, {})[row["Id"]] = row
        return row

    def load(self, records: dict[str, list[Row]]) -> None:
        for sobject, rows in records.items():
            for row in rows:
                self.put(sobject, row)

    def stamp(self) -> str:
        moment = datetime.fromtimestamp(self.clock(), UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"

    def expire_tokens(self) -> None:
        self._expire = True

    # -- HTTP ------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/services/oauth2/token" and request.method == "POST":
            return self._token(request)
        header = request.headers.get("Authorization", "")
        if self._expire:
            self._expire = False
            self.tokens.clear()
        if not header.startswith("Bearer ") or header[7:] not in self.tokens:
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if self.limit_exceeded:
            self.limit_exceeded -= 1
            return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if self.server_errors:
            self.server_errors -= 1
            return httpx.Response(503, text="Service Unavailable")
        if self.forbidden:
            return _errors(403, "INSUFFICIENT_ACCESS", "insufficient access rights on object")
        self._used += 1
        if request.method == "GET" and path == f"{self.api}/query":
            return self._query(request)
        if request.method == "GET" and path.startswith(f"{self.api}/query/"):
            return self._more(path.rsplit("/", 1)[1])
        if request.method == "PATCH" and path.startswith(f"{self.api}/sobjects/"):
            parts = path[len(self.api) + 10:].split("/")
            if len(parts) == 3:
                return self._upsert(request, parts[0], parts[1], unquote(parts[2]))
        return _errors(404, "NOT_FOUND", "The requested resource does not exist")

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        host = f"{request.url.scheme}://{request.url.host}"
        grant = form.get("grant_type")
        if grant == JWT_GRANT and host == self.login_url and self.public_key:
            try:
                claims = jwt.decode(form.get("assertion", ""), self.public_key,
                                    algorithms=["RS256"], audience=self.login_url,
                                    options={"verify_exp": False})
            except jwt.PyJWTError as err:
                return _oauth_error(f"invalid assertion: {err}")
            if claims.get("iss") != self.client_id or claims.get("sub") != self.username:
                return _oauth_error("user hasn't approved this consumer")
            if not self.clock() < claims.get("exp", 0) <= self.clock() + 300:
                return _oauth_error("expired authorization code")
        elif grant == "client_credentials" and host == self.instance_url and \
                self.client_secret is not None:
            if (form.get("client_id"), form.get("client_secret")) != (
                    self.client_id, self.client_secret):
                return _oauth_error("invalid client credentials", "invalid_client")
        else:
            return _oauth_error(f"grant {grant} is not enabled here", "unsupported_grant_type")
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(16)}"
        self.tokens.add(token)
        self.token_grants.append(str(grant))
        return httpx.Response(200, json={
            "access_token": token, "instance_url": self.instance_url, "token_type": "Bearer",
            "id": f"{self.login_url}/id/{self.org_id}/005000000000001AAA", "scope": "api",
            "issued_at": str(int(self.clock() * 1000))})

    def _query(self, request: httpx.Request) -> httpx.Response:
        try:
            rows = soql.run(self.schema, request.url.params.get("q", ""))
        except soql.QueryError as bad:
            return _errors(400, bad.code, str(bad))
        for row in rows:
            for value in row.values():
                if isinstance(value, dict) and "records" in value:
                    self._page_children(value)
        return self._page(rows)

    def _page_children(self, child: Row) -> None:
        records = child["records"]
        if len(records) > self.child_page_size:
            child["records"], child["done"] = records[:self.child_page_size], False
            child["nextRecordsUrl"] = self._locator(records[self.child_page_size:],
                                                    self.child_page_size)

    def _page(self, rows: list[Row], size: int | None = None) -> httpx.Response:
        size = size or self.page_size
        body: Row = {"totalSize": len(rows), "done": True, "records": rows[:size]}
        if len(rows) > size:
            body["done"] = False
            body["nextRecordsUrl"] = self._locator(rows[size:], size)
        return self._json(200, body)

    def _locator(self, rest: list[Row], size: int) -> str:
        key = f"01g{secrets.token_hex(7)}-{len(rest)}"
        self._locators[key] = (rest, size)
        return f"{self.api}/query/{key}"

    def _more(self, key: str) -> httpx.Response:
        kept = self._locators.pop(key, None)
        if kept is None or self.lose_locators:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(*kept)

    def _upsert(self, request: httpx.Request, sobject: str, field: str,
                value: str) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        if field in body or "Id" in body:
            return _errors(400, "INVALID_FIELD", f"{field} is the external ID: not in the body")
        unknown = sorted(set(body) - self.fields(sobject))
        if unknown:
            return _errors(400, "INVALID_FIELD",
                           f"No such column '{unknown[0]}' on sobject of type {sobject}")
        rows = [r for r in self.store.get(sobject, {}).values() if r.get(field) == value]
        if len(rows) > 1:
            return self._json(300, [f"{self.api}/sobjects/{sobject}/{r['Id']}" for r in rows])
        if not rows:
            if request.url.params.get("updateOnly") == "true":
                return _errors(404, "NOT_FOUND", "The requested resource does not exist")
            row = self.put(sobject, {**body, field: value})
            return self._json(201, {"id": row["Id"], "success": True, "errors": [],
                                    "created": True})
        rows[0].update(body, SystemModstamp=self.stamp())
        if self.update_status == 204:
            return httpx.Response(204, headers=self._limit())
        return self._json(200, {"id": rows[0]["Id"], "success": True, "errors": [],
                                "created": False})

    def _limit(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self._used}/100000"}

    def _json(self, status: int, body: Any) -> httpx.Response:
        text = json.dumps(body, default=lambda v: float(v) if isinstance(v, Decimal) else str(v))
        return httpx.Response(status, text=text, headers={
            "Content-Type": "application/json;charset=UTF-8", **self._limit()})


def _errors(status: int, code: str, message: str, fields: list[str] | None = None
            ) -> httpx.Response:
    return httpx.Response(status, json=[{"message": message, "errorCode": code,
                                         "fields": fields or []}])


def _oauth_error(description: str, error: str = "invalid_grant") -> httpx.Response:
    return httpx.Response(400, json={"error": error, "error_description": description})
