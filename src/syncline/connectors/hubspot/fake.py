"""A stateful fake HubSpot, for tests and offline trials: ``httpx.MockTransport(FakeHubSpot())``.

Built from the documented wire format (connectors.md §2, psa-erp-anchors.md §3.2), and
switchable where HubSpot's behaviour is unconfirmed:

- auth: exactly ``Bearer <token>`` of the private app, or an access token it issued at
  ``POST /oauth/v1/token`` (refresh-token grant, ``expires_in`` 1800); anything else is 401
  ``INVALID_AUTHENTICATION``; ``expire_once`` answers the next call 401 and forgets every
  issued token (an expired access token);
- search (``POST …/deals/search``): filter groups (OR of ANDs; EQ, NEQ, GT, GTE, LT, LTE, IN,
  NOT_IN, HAS_PROPERTY; dates compared as epoch ms), one sort (``sort_form`` "object",
  "string" or "any"), ``limit`` ≤ 200, and OPAQUE ``after`` tokens it issued for that very
  query (a number a client made up is a 400); a page at or past ``search_cap`` (10,000) is a
  400, as reported of HubSpot;
- v4 association batch reads, paged per id (``assoc_page``) with their own ``after``, ids with
  none reported in ``errors`` under 207; object batch reads (≤ 100 ids; unknown ids → 207);
- ``GET /crm/v3/properties/{type}/{name}`` (200, or 404 ``OBJECT_NOT_FOUND``);
- ``throttle`` answers N calls 429 (``Retry-After`` when ``retry_after`` is set, and the
  ``X-HubSpot-RateLimit-*`` headers), ``server_errors`` N calls 502, ``fail_search`` =
  (n, status) answers the n-th search with ``status``; ``requests`` records every call.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import httpx

OBJECTS = re.compile(r"^/crm/(?:v3/objects|objects/2026-03)/(\w+)/(search|batch/read)$")
ASSOCIATIONS = re.compile(r"^/crm/(?:v4/associations|associations/2026-03)/(\w+)/(\w+)/batch/read$")
PROPERTY = re.compile(r"^/crm/v3/properties/(\w+)/(\w+)$")
DATES = {"hs_lastmodifieddate", "closedate", "createdate"}
LINE_ITEM_TYPE = {"category": "HUBSPOT_DEFINED", "typeId": 19, "label": None}
COMPANY_TYPE = {"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}
PRIMARY_TYPE = {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"}


def _ms(value: Any) -> int | None:
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _error(status: int, category: str, message: str, **headers: str) -> httpx.Response:
    body = {"status": "error", "message": message, "category": category,
            "correlationId": hashlib.sha256(message.encode()).hexdigest()[:32]}
    return httpx.Response(status, json=body, headers=headers)


class FakeHubSpot:
    def __init__(self, *, token: str = "pat-na1-fake", client_id: str = "fake-client",
                 client_secret: str = "fake-secret", refresh_token: str = "refresh-1",
                 search_cap: int = 10_000, assoc_page: int = 500, sort_form: str = "any",
                 retry_after: str | None = None) -> None:
        self.token, self.client_id, self.client_secret = token, client_id, client_secret
        self.refresh_token = refresh_token
        self.search_cap, self.assoc_page, self.sort_form = search_cap, assoc_page, sort_form
        self.retry_after = retry_after
        self.records: dict[str, dict[str, dict[str, Any]]] = {
            "deals": {}, "line_items": {}, "companies": {}}
        self.links: dict[tuple[str, str], dict[str, list[tuple[str, dict[str, Any]]]]] = {}
        self.extra_properties: dict[str, set[str]] = {"deals": set(), "line_items": set()}
        self.requests: list[httpx.Request] = []
        self.throttle = self.server_errors = self.searches = self.token_requests = 0
        self.expire_once = False
        self.fail_search: tuple[int, int] | None = None
        self.issued: set[str] = set()
        self._tokens: dict[str, tuple[str, int]] = {}

    # -- seeding -------------------------------------------------------------------------
    def add(self, object_type: str, object_id: str, modified: str = "2026-01-01T00:00:00Z",
            **properties: Any) -> None:
        props = {"hs_object_id": object_id, "hs_lastmodifieddate": modified, **properties}
        self.records[object_type][object_id] = {
            "id": object_id, "properties": props, "createdAt": modified, "updatedAt": modified,
            "archived": False}

    def add_deal(self, deal_id: str, *, modified: str, line_items: tuple[str, ...] = (),
                 companies: tuple[str, ...] = (), primary: str | None = None,
                 **properties: Any) -> None:
        props = {"dealstage": "closedwon", "pipeline": "default", **properties}
        self.add("deals", deal_id, modified, **props)
        self.links.setdefault(("deals", "line_items"), {})[deal_id] = [
            (i, LINE_ITEM_TYPE) for i in line_items]
        self.links.setdefault(("deals", "companies"), {})[deal_id] = [
            (c, PRIMARY_TYPE if c == primary else COMPANY_TYPE) for c in companies]

    def touch(self, deal_id: str, modified: str, **properties: Any) -> None:
        record = self.records["deals"][deal_id]
        record["properties"].update(hs_lastmodifieddate=modified, **properties)
        record["updatedAt"] = modified

    # -- the transport -------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/oauth/v1/token":
            return self._token(request)
        if not self._authorized(request):
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not "
                          "found or expired.")
        if self.throttle:
            self.throttle -= 1
            headers = {"X-HubSpot-RateLimit-Daily": "250000",
                       "X-HubSpot-RateLimit-Daily-Remaining": "249000",
                       "X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "0",
                       "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
            if self.retry_after is not None:
                headers["Retry-After"] = self.retry_after
            return _error(429, "RATE_LIMITS", "You have reached your ten_secondly_rolling "
                          "limit.", **headers)
        if self.server_errors:
            self.server_errors -= 1
            return httpx.Response(502, text="Bad Gateway")
        body = json.loads(request.content) if request.content else {}
        if request.method == "POST" and (m := OBJECTS.match(path)):
            if m.group(2) == "search":
                return self._search(m.group(1), body)
            return self._batch_read(m.group(1), body)
        if request.method == "POST" and (m := ASSOCIATIONS.match(path)):
            return self._associations(m.group(1), m.group(2), body)
        if request.method == "GET" and (m := PROPERTY.match(path)):
            return self._property(m.group(1), m.group(2))
        return _error(404, "OBJECT_NOT_FOUND", f"no route {request.method} {path}")

    def _authorized(self, request: httpx.Request) -> bool:
        given = request.headers.get("Authorization", "")
        if self.expire_once and given:
            self.expire_once = False
            self.issued.clear()
            return False
        return given == f"Bearer {self.token}" or given.removeprefix("Bearer ") in self.issued

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if (form.get("grant_type") != "refresh_token" or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
                or form.get("refresh_token") != self.refresh_token):
            return httpx.Response(400, json={"status": "BAD_REFRESH_TOKEN",
                                             "message": "missing or unknown refresh token"})
        access = f"CNfake-access-{self.token_requests}"
        self.issued.add(access)
        return httpx.Response(200, json={"token_type": "bearer", "access_token": access,
                                         "refresh_token": self.refresh_token,
                                         "expires_in": 1800})

    def _opaque(self, scope: str, offset: int) -> str:
        token = hashlib.sha256(f"{scope}|{offset}|{len(self._tokens)}".encode()).hexdigest()[:20]
        self._tokens[token] = (scope, offset)
        return token

    def _offset(self, scope: str, after: Any) -> int | None:
        if after in (None, ""):
            return 0
        issued = self._tokens.get(str(after))
        return issued[1] if issued and issued[0] == scope else None

    def _search(self, object_type: str, body: dict[str, Any]) -> httpx.Response:
        self.searches += 1
        if self.fail_search and self.fail_search[0] == self.searches:
            return _error(self.fail_search[1], "VALIDATION_ERROR", "search failed (injected)")
        limit = int(body.get("limit", 10))
        if limit > 200:
            return _error(400, "VALIDATION_ERROR", "limit must be at most 200")
        sorts = body.get("sorts") or []
        for sort in sorts:
            wanted = {"object": dict, "string": str}.get(self.sort_form, (dict, str))
            if not isinstance(sort, wanted):
                return _error(400, "VALIDATION_ERROR", f"bad sort {sort!r}")
        scope = json.dumps({k: body.get(k) for k in ("filterGroups", "sorts")}, sort_keys=True)
        offset = self._offset(f"{object_type}:{scope}", body.get("after"))
        if offset is None:
            return _error(400, "VALIDATION_ERROR", "after is not a paging token of this search")
        if offset >= self.search_cap:
            return _error(400, "VALIDATION_ERROR", f"the search API returns at most "
                          f"{self.search_cap} results per query")
        rows = [r for r in self.records[object_type].values()
                if _matches(r["properties"], body.get("filterGroups") or [])]
        for sort in reversed(sorts):
            name = sort if isinstance(sort, str) else sort["propertyName"]
            desc = isinstance(sort, dict) and sort.get("direction") == "DESCENDING"
            rows.sort(key=partial(_key, name), reverse=desc)
        page = rows[offset:offset + limit]
        out: dict[str, Any] = {"total": len(rows), "results": [
            self._render(r, body.get("properties")) for r in page]}
        if offset + limit < len(rows):
            after = self._opaque(f"{object_type}:{scope}", offset + limit)
            out["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return httpx.Response(200, json=out)

    def _render(self, record: dict[str, Any], wanted: list[str] | None) -> dict[str, Any]:
        props = record["properties"]
        names = set(wanted or ()) | {"hs_object_id", "hs_lastmodifieddate", "createdate"}
        return {**record, "properties": {n: props.get(n) for n in sorted(names)}}

    def _batch_read(self, object_type: str, body: dict[str, Any]) -> httpx.Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "VALIDATION_ERROR", "at most 100 inputs")
        found = [self.records[object_type][str(i["id"])] for i in inputs
                 if str(i["id"]) in self.records[object_type]]
        missing = [str(i["id"]) for i in inputs if str(i["id"]) not in self.records[object_type]]
        out = {"status": "COMPLETE", "results": [self._render(r, body.get("properties"))
                                                  for r in found]}
        return self._multi(out, missing)

    def _associations(self, from_type: str, to_type: str, body: dict[str, Any]
                      ) -> httpx.Response:
        links = self.links.get((from_type, to_type), {})
        results, missing = [], []
        for item in body.get("inputs") or []:
            from_id = str(item["id"])
            offset = self._offset(f"assoc:{from_type}:{to_type}:{from_id}", item.get("after"))
            targets = links.get(from_id) or []
            if offset is None or not targets:
                missing.append(from_id)
                continue
            chunk = targets[offset:offset + self.assoc_page]
            result: dict[str, Any] = {"from": {"id": from_id}, "to": [
                {"toObjectId": int(t) if t.isdigit() else t, "associationTypes": [kind]}
                for t, kind in chunk]}
            if offset + self.assoc_page < len(targets):
                after = self._opaque(f"assoc:{from_type}:{to_type}:{from_id}",
                                     offset + self.assoc_page)
                result["paging"] = {"next": {"after": after, "link": None}}
            results.append(result)
        return self._multi({"status": "COMPLETE", "results": results}, missing)

    def _multi(self, out: dict[str, Any], missing: list[str]) -> httpx.Response:
        now = datetime.now(UTC).isoformat()
        out.update(startedAt=now, completedAt=now)
        if not missing:
            return httpx.Response(200, json=out)
        out["numErrors"] = 1
        out["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                          "message": "Could not find objects or associations",
                          "context": {"ids": missing}}]
        return httpx.Response(207, json=out)

    def _property(self, object_type: str, name: str) -> httpx.Response:
        known = set(self.extra_properties.get(object_type, set()))
        for record in self.records.get(object_type, {}).values():
            known |= set(record["properties"])
        if name not in known:
            return _error(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
        return httpx.Response(200, json={"name": name, "label": name, "type": "string",
                                         "fieldType": "text", "groupName": "dealinformation"})


def _key(name: str, record: dict[str, Any]) -> tuple[int, Any]:
    value = record["properties"].get(name)
    if value is None:
        return (1, 0)
    return (0, _ms(value)) if name in DATES else (0, str(value))


def _matches(props: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
    if not groups:
        return True
    return any(all(_test(props, f) for f in g.get("filters") or []) for g in groups)


def _test(props: dict[str, Any], f: dict[str, Any]) -> bool:
    name, op = f["propertyName"], f["operator"]
    have = props.get(name)
    if op == "HAS_PROPERTY":
        return have is not None and have != ""
    if op in ("IN", "NOT_IN"):
        inside = str(have) in {str(v) for v in f.get("values") or []}
        return inside if op == "IN" else not inside
    if have is None:
        return bool(op == "NEQ")
    if name not in DATES:
        return _COMPARE[op](str(have), str(f.get("value")))
    a, b = _ms(have), _ms(f.get("value"))
    return a is not None and b is not None and _COMPARE[op](a, b)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": operator.eq, "NEQ": operator.ne, "GT": operator.gt, "GTE": operator.ge,
    "LT": operator.lt, "LTE": operator.le}
