"""A stateful fake Harvest API v2: users, projects and time entries, with opaque next links.

Use it as ``httpx.MockTransport(FakeHarvest(...))``. Every request must carry exactly
``Authorization: Bearer <token>`` and ``Harvest-Account-Id: <account>`` (else 401) and a
non-empty ``User-Agent`` (else 400, as Harvest documents). Lists (``/v2/time_entries``,
``/v2/users``, ``/v2/projects``) take ``per_page`` (default and maximum 2000; more → 422),
``updated_since`` (``>=``), and for time entries ``from``/``to`` on ``spent_date``; they answer
Harvest's envelope (``page``, ``total_pages``, ``total_entries``, ``next_page``, ``links``) with
``links.next`` an OPAQUE cursor URL (``?cursor=…&per_page=…&ref=next_cursor``): a client that
builds ``page=2`` itself gets 400. ``GET /v2/users/me`` answers the first user.

``throttle(n, retry_after)`` answers 429 n times, ``fail(n, status)`` a status n times,
``fail_after(k, status)`` lets k list requests through first; ``requests`` records all.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

import httpx

BASE = "https://api.harvestapp.com"
MAX_PER_PAGE = 2000
_KEYS = {"/v2/time_entries": "time_entries", "/v2/users": "users", "/v2/projects": "projects"}


class FakeHarvest:
    def __init__(self, *, token: str = "pat-harvest", account_id: str = "1234567") -> None:
        self.token, self.account_id = token, account_id
        self.records: dict[str, dict[int, dict[str, Any]]] = {k: {} for k in _KEYS.values()}
        self.requests: list[httpx.Request] = []
        self._cursors: dict[str, tuple[str, dict[str, str], int]] = {}
        self._throttle: list[str] = []
        self._fail: list[int] = []
        self._fail_after: tuple[int, int] | None = None
        self._served = 0

    # -- state ------------------------------------------------------------------------------
    def put(self, kind: str, record: Mapping[str, Any]) -> None:
        """Add or replace a record (``kind``: time_entries, users or projects) by its id."""
        self.records[kind][int(record["id"])] = dict(record)

    def delete(self, kind: str, record_id: int) -> None:
        self.records[kind].pop(record_id, None)

    def throttle(self, times: int, retry_after: str = "15") -> None:
        self._throttle += [retry_after] * times

    def fail(self, times: int, status: int = 500) -> None:
        self._fail += [status] * times

    def fail_after(self, served: int, status: int = 422) -> None:
        self._fail_after = (served, status)

    # -- HTTP -------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        h = request.headers
        if not h.get("User-Agent", "").strip():
            return _error(400, "a User-Agent header is required")
        if h.get("Authorization") != f"Bearer {self.token}" or \
                h.get("Harvest-Account-Id") != self.account_id:
            return httpx.Response(401, json={"error": "invalid_token",
                                             "error_description": "The access token provided "
                                             "is expired, revoked, malformed or invalid."})
        if self._throttle:
            return httpx.Response(429, headers={"Retry-After": self._throttle.pop(0)})
        if self._fail:
            return _error(self._fail.pop(0), "the fake was told to fail")
        path = request.url.path
        if path == "/v2/users/me" and self.records["users"]:
            return httpx.Response(200, json=next(iter(self.records["users"].values())))
        if path not in _KEYS:
            return _error(404, "Not found")
        if self._fail_after is not None and self._served >= self._fail_after[0]:
            return _error(self._fail_after[1], "the fake was told to fail here")
        self._served += 1
        return self._list(path, dict(request.url.params))

    def _list(self, path: str, q: dict[str, str]) -> httpx.Response:
        offset = 0
        if "cursor" in q:
            if q["cursor"] not in self._cursors:
                return _error(400, "unknown cursor")
            path, q, offset = self._cursors[q["cursor"]]
        elif q.get("page", "1") != "1":
            return _error(400, "page links are cursors here: follow links.next")
        per_page = int(q.get("per_page", MAX_PER_PAGE))
        if not 1 <= per_page <= MAX_PER_PAGE:
            return _error(422, f"per_page must be between 1 and {MAX_PER_PAGE}")
        key = _KEYS[path]
        rows = [r for _, r in sorted(self.records[key].items()) if _matches(r, q)]
        page = rows[offset:offset + per_page]
        more = offset + per_page < len(rows)
        next_link = None
        if more:
            token = secrets.token_urlsafe(12)
            self._cursors[token] = (path, q, offset + per_page)
            next_link = f"{BASE}{path}?cursor={token}&per_page={per_page}&ref=next_cursor"
        total_pages = max(1, -(-len(rows) // per_page))
        first = offset == 0
        return httpx.Response(200, json={
            key: page, "per_page": per_page, "total_pages": total_pages,
            "total_entries": len(rows), "page": 1 if first else None,
            "next_page": 2 if first and more else None, "previous_page": None,
            "links": {"first": f"{BASE}{path}?page=1&per_page={per_page}", "next": next_link,
                      "previous": None,
                      "last": f"{BASE}{path}?page={total_pages}&per_page={per_page}"}})


def _matches(record: Mapping[str, Any], q: Mapping[str, str]) -> bool:
    if "updated_since" in q and str(record.get("updated_at", "")) < q["updated_since"]:
        return False
    if "from" in q and str(record.get("spent_date", "9999")) < q["from"]:
        return False
    return not ("to" in q and str(record.get("spent_date", "")) > q["to"])


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps({"message": message}).encode(),
                          headers={"Content-Type": "application/json"})
