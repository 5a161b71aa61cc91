"""QuickBooks Online Accounting API v3 over HTTP: OAuth 2.0, minorversion, requestid, Fault.

- Every request goes to ``/v3/company/<realmId>/…`` with ``minorversion=<N>`` in the query
  (connectors.md §6.2) and ``Accept: application/json``.
- Auth: ``OAuth2`` against Intuit's token endpoint, HTTP Basic ``client_id:client_secret``,
  ``grant_type=refresh_token``; the refresh token is read from the token store on every
  refresh and a rotated one persisted before use (tokens.py). A 401 refreshes once.
- Writes carry ``requestid`` (≤ 50 chars, unique per company): QBO answers a repeated
  requestid with the original response instead of doing the operation again. The create of a
  document uses the outbox id; a follow-up update of the same outbox row appends
  ``:u<SyncToken>`` so each distinct operation has its own id and a retry reuses it.
- Updates send ``Id`` + the current ``SyncToken`` (sparse). A stale token (Fault code 5010)
  re-reads the object and retries, at most ``STALE_RETRIES`` times.
- Errors: the ``Fault`` body (``{"Fault":{"Error":[{"Message","Detail","code"}],"type"}}``;
  the 401 body spells it ``fault``/``error``) → ``VendorError`` with the code. Retryable: 5xx,
  429 (QBO sends no Retry-After: wait 60 s), timeouts, 5010 (stale: re-read); every other
  Fault is permanent (validation 2000-6999, 610 not found, 6210 period closed …). The
  ``intuit_tid`` response header is appended to the message for Intuit support.
- Money goes out as JSON *numbers* written from ``Decimal`` (never a float) by ``dumps``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx

from syncline.connectors.quickbooks.settings import QboSettings
from syncline.connectors.quickbooks.tokens import TokenStore
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.auth import OAuth2
from syncline.connectors.sdk.errors import VendorError
from syncline.connectors.sdk.http import RetryPolicy, VendorClient, json_decimal

VENDOR = "quickbooks"
STALE = "5010"
DUPLICATE_DOC_NUMBER = "6140"
STALE_RETRIES = 3
PAGE = 1000  # MAXRESULTS per query page (the documented cap is widely reported as 1000)
REQUEST_ID_MAX = 50
_DEC = re.compile(r'"\\u0000dec:(-?\d+(?:\.\d+)?)"')


def dumps(body: Any) -> bytes:
    """JSON with every ``Decimal`` written as a number, digit for digit."""
    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"\u0000dec:{value}"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        return value
    return _DEC.sub(r"\1", json.dumps(mark(body))).encode()


def request_id(key: str, suffix: str = "") -> str:
    """The ``requestid`` for one operation of one outbox row (≤ 50 chars, deterministic)."""
    text = f"{key}{suffix}"
    return text if len(text) <= REQUEST_ID_MAX else str(uuid.uuid5(uuid.NAMESPACE_URL, text))


def quote(value: str) -> str:
    """A string literal of QBO's query language (a quote escaped with a backslash)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def error_of(response: httpx.Response) -> tuple[str, str | None]:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase, None
    fault = (body.get("Fault") or body.get("fault")) if isinstance(body, dict) else None
    errors = (fault.get("Error") or fault.get("error") or []) if isinstance(fault, dict) else []
    tid = response.headers.get("intuit_tid")
    if not errors:
        return response.text[:300], None
    first = errors[0]
    message = str(first.get("Message") or first.get("message") or "")
    detail = str(first.get("Detail") or first.get("detail") or "")
    text = f"{message}: {detail}" if detail and detail != message else message
    if tid:
        text += f" (intuit_tid {tid})"
    code = first.get("code")
    return text[:400], str(code) if code is not None else None


def authenticator(s: QboSettings, store: TokenStore, wiring: Wiring) -> OAuth2:
    def grant() -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": store.current()}
    return OAuth2(VENDOR, s.token_url, grant, transport=wiring.transport,
                  client_auth=(s.client_id, s.client_secret), on_rotate=store.save,
                  clock=lambda: wiring.clock().timestamp())


class QboApi:
    """The calls the target, the payments stream and ``validate`` make."""

    def __init__(self, s: QboSettings, store: TokenStore, wiring: Wiring) -> None:
        self.settings = s
        self.auth = authenticator(s, store, wiring)
        self.http = VendorClient(
            VENDOR, s.base_url, auth=self.auth, transport=wiring.transport, sleep=wiring.sleep,
            error_of=error_of, policy=RetryPolicy(default_wait=60.0),
            headers={"Accept": "application/json"})
        self.prefix = f"/v3/company/{s.realm_id}"

    def _call(self, method: str, path: str, params: dict[str, str] | None = None,
              **kwargs: Any) -> Any:
        query = {"minorversion": str(self.settings.minorversion), **(params or {})}
        try:
            response = self.http.request(method, self.prefix + path, params=query, **kwargs)
        except VendorError as err:
            if err.code == STALE:
                err.retryable = True  # re-read and retry (here, or by the outbox)
            raise
        return json_decimal(response)

    def read(self, entity: str, object_id: str) -> dict[str, Any]:
        body = self._call("GET", f"/{entity.lower()}/{object_id}")
        return dict(body[entity])

    def singleton(self, path: str, entity: str) -> dict[str, Any]:
        body = self._call("GET", path)
        found = body.get(entity) or body.get("QueryResponse", {}).get(entity) or {}
        return dict(found[0] if isinstance(found, list) else found)

    def query(self, statement: str) -> list[dict[str, Any]]:
        return [r for page in self.query_pages(statement) for r in page]

    def query_pages(self, statement: str) -> Iterator[list[dict[str, Any]]]:
        """``select …`` paged with STARTPOSITION/MAXRESULTS until a short page."""
        entity = statement.split()[3]
        start = 1
        while True:
            body = self._call("GET", "/query", {
                "query": f"{statement} STARTPOSITION {start} MAXRESULTS {PAGE}"})
            rows = list((body.get("QueryResponse") or {}).get(entity) or [])
            yield rows
            if len(rows) < PAGE:
                return
            start += PAGE

    def create(self, entity: str, body: dict[str, Any], requestid: str) -> dict[str, Any]:
        answer = self._call("POST", f"/{entity.lower()}", {"requestid": requestid},
                            content=dumps(body), headers={"Content-Type": "application/json"})
        return dict(answer[entity])

    def update(self, entity: str, object_id: str, changes: dict[str, Any],
               key: str) -> dict[str, Any]:
        """A sparse update with the current SyncToken; on 5010 re-read and try again."""
        current = self.read(entity, object_id)
        for attempt in range(STALE_RETRIES + 1):
            body = {"Id": object_id, "SyncToken": current["SyncToken"], "sparse": True,
                    **changes}
            try:
                return self.create(entity, body,
                                   request_id(key, f":u{current['SyncToken']}"))
            except VendorError as err:
                if err.code != STALE or attempt == STALE_RETRIES:
                    raise
                current = self.read(entity, object_id)
        raise AssertionError("unreachable")

    def cdc(self, entities: str, changed_since: str) -> tuple[dict[str, list[Any]], str]:
        """``/cdc``: the changed objects per entity, and the response ``time``."""
        body = self._call("GET", "/cdc", {"entities": entities, "changedSince": changed_since})
        found: dict[str, list[Any]] = {}
        for response in body.get("CDCResponse") or []:
            for part in response.get("QueryResponse") or []:
                for name, rows in part.items():
                    if isinstance(rows, list):
                        found.setdefault(name, []).extend(rows)
        return found, str(body.get("time") or "")
