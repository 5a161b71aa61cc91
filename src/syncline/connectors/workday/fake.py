"""A stateful fake Workday: RaaS custom report, REST workers, OAuth token endpoint.

Use it as ``httpx.MockTransport(FakeWorkday(...))``. It holds effective-dated worker
records (``put(worker_id, effective, record)``) and answers:

- ``GET /ccx/service/customreport2/{tenant}/{owner}/{report}?format=json&<as_of_prompt>=D``
  → ``{"Report_Entry": [...]}``: each worker's latest version effective on or before D
  (the wrapper key is switchable: ``entries_key``; it is second-hand);
- ``GET /ccx/api/v1/{tenant}/workers?limit=&offset=`` → ``{"total": N, "data": [...]}`` as of
  ``today`` (``limit`` above 100 → 400, as the REST spec caps it);
- ``POST /ccx/oauth2/{tenant}/token`` (``grant_type=refresh_token``, client id and secret as
  HTTP Basic) → a Bearer access token.

Auth is checked exactly: the ISU's ``Basic`` header (RaaS) or a live Bearer token (both);
anything else is 401. ``throttle(n, retry_after)`` answers 429 n times, ``fail(n, status)``
answers a status n times, ``fail_after(k, status)`` lets k data requests through first,
``expire_tokens()`` makes the next call 401 (an expired token). ``requests`` records all.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import httpx


class FakeWorkday:
    def __init__(self, *, tenant: str = "acme", owner: str = "ISU_Syncline",
                 report: str = "Syncline_Workers", username: str = "ISU_Syncline@acme",
                 password: str = "isu-pass", client_id: str = "wd-client",
                 client_secret: str = "wd-secret", refresh_token: str = "wd-refresh",
                 as_of_prompt: str = "Effective_as_of_Date", entries_key: str = "Report_Entry",
                 today: date = date(2026, 7, 15)) -> None:
        self.tenant, self.owner, self.report = tenant, owner, report
        self.basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.client_basic = "Basic " + base64.b64encode(
            f"{client_id}:{client_secret}".encode()).decode()
        self.refresh_token, self.as_of_prompt, self.entries_key = (
            refresh_token, as_of_prompt, entries_key)
        self.today = today
        self.versions: dict[str, list[tuple[date, dict[str, Any]]]] = {}
        self.requests: list[httpx.Request] = []
        self.tokens: set[str] = set()
        self.issued = 0
        self._throttle: list[str] = []
        self._fail: list[int] = []
        self._fail_after: tuple[int, int] | None = None
        self._served = 0

    # -- state ------------------------------------------------------------------------------
    def put(self, worker_id: str, effective: date, record: Mapping[str, Any]) -> None:
        """A version of a worker, true from ``effective`` on."""
        versions = self.versions.setdefault(worker_id, [])
        versions[:] = [v for v in versions if v[0] != effective] + [(effective, dict(record))]
        versions.sort(key=lambda v: v[0])

    def as_of(self, day: date) -> list[dict[str, Any]]:
        out = []
        for wid in sorted(self.versions):
            live = [r for eff, r in self.versions[wid] if eff <= day]
            if live:
                out.append(live[-1])
        return out

    def throttle(self, times: int, retry_after: str = "2") -> None:
        self._throttle += [retry_after] * times

    def fail(self, times: int, status: int = 503) -> None:
        self._fail += [status] * times

    def fail_after(self, served: int, status: int = 400) -> None:
        self._fail_after = (served, status)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # -- HTTP -------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "POST" and path == f"/ccx/oauth2/{self.tenant}/token":
            return self._token(request)
        report_path = f"/ccx/service/customreport2/{self.tenant}/{self.owner}/{self.report}"
        rest = path == f"/ccx/api/v1/{self.tenant}/workers"
        if path != report_path and not rest:
            return _error(404, "resource not found")
        auth = request.headers.get("Authorization", "")
        bearer = auth.startswith("Bearer ") and auth[7:] in self.tokens
        if not (bearer or (auth == self.basic and not rest)):
            return _error(401, "invalid credentials")
        if self._throttle:
            return httpx.Response(429, headers={"Retry-After": self._throttle.pop(0)})
        if self._fail:
            return _error(self._fail.pop(0), "service unavailable")
        if self._fail_after is not None and self._served >= self._fail_after[0]:
            return _error(self._fail_after[1], "the fake was told to fail here")
        self._served += 1
        return self._workers(request) if rest else self._report(request)

    def _report(self, request: httpx.Request) -> httpx.Response:
        q = request.url.params
        if q.get("format") != "json":
            return _error(400, "format=json expected")
        try:
            day = date.fromisoformat(q.get(self.as_of_prompt, ""))
        except ValueError:
            return _error(400, f"prompt {self.as_of_prompt} is required")
        return httpx.Response(200, json={self.entries_key: self.as_of(day)})

    def _workers(self, request: httpx.Request) -> httpx.Response:
        q = request.url.params
        limit, offset = int(q.get("limit", "20")), int(q.get("offset", "0"))
        if not 1 <= limit <= 100:
            return _error(400, "limit: the maximum is 100")
        records = self.as_of(self.today)
        return httpx.Response(200, json={"total": len(records),
                                         "data": records[offset:offset + limit]})

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if request.headers.get("Authorization") != self.client_basic:
            return httpx.Response(401, json={"error": "invalid_client"})
        if form.get("grant_type") != "refresh_token" or \
                form.get("refresh_token") != self.refresh_token:
            return httpx.Response(400, json={"error": "invalid_grant"})
        self.issued += 1
        token = f"wd-access-{self.issued}"
        self.tokens.add(token)
        return httpx.Response(200, json={"access_token": token, "token_type": "Bearer",
                                         "expires_in": 3600})


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps({"error": message}).encode(),
                          headers={"Content-Type": "application/json"})
