"""NetSuite REST web services over HTTP: TBA signing, the account's concurrency cap, NetSuite's
error body, JSON money as numbers, and SuiteQL paging.

- Errors (help "Error Handling in REST Web Services", section_156570709583): ``status`` and
  ``o:errorDetails[]`` with ``detail`` and ``o:errorCode`` (and optional ``o:errorPath``…):
  the message is the details joined, the code the first ``o:errorCode``.
- Concurrency: the cap is per account, shared by every integration. Over it REST answers 429
  (second-hand) or, as RESTlets do, 400 ``SSS_REQUEST_LIMIT_EXCEEDED``: both are throttles,
  waited (no ``Retry-After`` is documented: ``RetryPolicy.default_wait``) and retried. A
  semaphore keeps this connector's own requests under ``concurrency``.
- Money goes out as JSON numbers written from the ``Decimal`` text (never through float).
- SuiteQL (``POST /services/rest/query/v1/suiteql`` with ``Prefer: transient``, the query in
  ``{"q": …}``, ``limit``/``offset`` in the URL): the first page is asked with ``limit`` and
  ``offset=0``; later pages follow the ``links`` entry with ``rel: next`` as given, while
  ``hasMore`` is true.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx

from syncline.connectors.netsuite.settings import NetSuiteSettings
from syncline.connectors.netsuite.tba import TokenBasedAuth
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.http import VendorClient, json_decimal

VENDOR = "netsuite"
RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
THROTTLE_CODES = frozenset({"SSS_REQUEST_LIMIT_EXCEEDED", "CONCURRENCY_LIMIT_EXCEEDED"})
_DECIMAL = re.compile(r'"\\u0000dec:(-?[0-9]+(?:\.[0-9]+)?)"')


def dumps(body: Any) -> bytes:
    """JSON with every ``Decimal`` written as a number, exactly as its text."""
    def default(value: Any) -> str:
        if isinstance(value, Decimal):
            return "\u0000dec:" + format(value, "f")
        raise TypeError(f"not JSON: {type(value).__name__}")

    return _DECIMAL.sub(r"\1", json.dumps(body, default=default)).encode()


def error_details(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def error_of(response: httpx.Response) -> tuple[str, str | None]:
    details = error_details(response)
    if not details:
        return response.text[:300] or response.reason_phrase, None
    message = "; ".join(str(d.get("detail", "")) for d in details)[:500]
    return message, str(details[0].get("o:errorCode") or "") or None


def is_throttled(response: httpx.Response) -> bool:
    return response.status_code == 400 and any(
        d.get("o:errorCode") in THROTTLE_CODES for d in error_details(response))


class NetSuiteClient(VendorClient):
    """``VendorClient`` with at most ``limit`` requests in flight."""

    limit: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        self._slots = threading.BoundedSemaphore(self.limit)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with self._slots:
            return super().request(method, url, **kwargs)

    def send_json(self, method: str, url: str, body: Any, **kwargs: Any) -> httpx.Response:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return self.request(method, url, content=dumps(body), headers=headers, **kwargs)

    def suiteql(self, query: str, *, page_size: int = 1000) -> Iterator[list[dict[str, Any]]]:
        """Each page's rows, following ``links`` rel=next while ``hasMore``."""
        url: str | None = SUITEQL
        params: dict[str, Any] | None = {"limit": page_size, "offset": 0}
        while url is not None:
            response = self.send_json("POST", url, {"q": query},
                                      headers={"Prefer": "transient"}, params=params)
            body = json_decimal(response)
            yield list(body.get("items") or [])
            url, params = (_next_link(body) if body.get("hasMore") else None), None


def _next_link(body: dict[str, Any]) -> str | None:
    for link in body.get("links") or []:
        if link.get("rel") == "next":
            return str(link["href"])
    return None


def client(s: NetSuiteSettings, wiring: Wiring) -> NetSuiteClient:
    auth = TokenBasedAuth(s.account_id, s.secrets["consumer_key"], s.secrets["consumer_secret"],
                          s.secrets["token_id"], s.secrets["token_secret"])
    made = NetSuiteClient(VENDOR, s.base_url, auth=auth, transport=wiring.transport,
                          sleep=wiring.sleep, error_of=error_of, is_throttled=is_throttled,
                          headers={"Accept": "application/json"})
    made.limit = s.concurrency
    made._slots = threading.BoundedSemaphore(s.concurrency)
    return made


def quoted(value: str) -> str:
    """A SuiteQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"
