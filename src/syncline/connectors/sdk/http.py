"""The HTTP client every connector uses: auth, bounded retries, 429/Retry-After, typed errors.

A vendor is one ``VendorClient`` over an ``httpx.Client`` (tests pass a fake vendor as the
transport, so the exact requests are asserted and nothing leaves the machine). The policy:

- the authenticator sets the credentials on each request; on a 401 it may refresh once and
  the request is sent again (a second 401 is an ``AuthError``; 403 is never retried unless
  the vendor says it is a rate limit, as Salesforce's ``REQUEST_LIMIT_EXCEEDED`` does);
- 429 and the vendor's own throttle signal wait ``Retry-After`` (seconds or an HTTP date;
  ``default_wait`` when absent — QBO sends none, 60 s) and retry;
- 5xx, timeouts and dropped connections retry with exponential backoff (``base_delay`` ×
  2^n, capped at ``max_delay``);
- at most ``max_attempts`` sends in all; then ``RateLimited`` or a retryable ``VendorError``.

Sleeping goes through ``sleep`` so tests inject a recorder instead of waiting. Secrets never
appear in errors or logs: errors carry the URL without its query and the vendor's message.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx

from syncline.connectors.sdk.errors import AuthError, RateLimited, VendorError


class Authenticator(Protocol):
    def apply(self, request: httpx.Request) -> None: ...

    def refresh(self) -> bool:
        """Get a fresh credential after a 401; False when there is nothing to refresh."""
        ...


class NoAuth:
    def apply(self, request: httpx.Request) -> None:
        return None

    def refresh(self) -> bool:
        return False


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    default_wait: float = 10.0  # a 429 without Retry-After
    max_wait: float = 300.0  # never honour a Retry-After longer than this; fail instead
    retry_statuses: frozenset[int] = frozenset({500, 502, 503, 504})


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def json_decimal(response: httpx.Response) -> Any:
    """A response body as JSON, numbers with a fraction or exponent as ``Decimal``."""
    return json.loads(response.content, parse_float=Decimal)


def _plain_url(request: httpx.Request) -> str:
    return str(request.url.copy_with(query=None))


@dataclass
class VendorClient:
    """One vendor's HTTP access. ``error_of`` turns a vendor's error body into a message and
    code; ``is_throttled`` names vendor-specific rate-limit answers besides 429."""

    vendor: str
    base_url: str
    auth: Authenticator = field(default_factory=NoAuth)
    transport: httpx.BaseTransport | None = None
    headers: dict[str, str] = field(default_factory=dict)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 30.0
    error_of: Callable[[httpx.Response], tuple[str, str | None]] | None = None
    is_throttled: Callable[[httpx.Response], bool] | None = None
    sent: int = 0  # requests sent, retries included (visible in check and sync results)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.base_url, transport=self.transport,
                                  headers=self.headers, timeout=self.timeout)

    def close(self) -> None:
        self._http.close()

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """The body as JSON with every non-integer number a ``Decimal`` (never a float:
        vendors send money as JSON numbers)."""
        return json_decimal(self.request("GET", url, **kwargs))

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request(method, url, **kwargs)
            self.auth.apply(request)
            self.sent += 1
            try:
                response = self._http.send(request)
            except (httpx.TimeoutException, httpx.TransportError) as err:
                if attempt >= self.policy.max_attempts:
                    raise VendorError(self.vendor, f"{type(err).__name__} after {attempt} "
                                      "attempts", retryable=True,
                                      url=_plain_url(request)) from None
                self.sleep(self._backoff(attempt))
                continue
            if response.status_code < 400:
                return response
            response.read()
            if response.status_code == 401 and not refreshed and self.auth.refresh():
                refreshed = True
                attempt -= 1  # a refresh is not a failed attempt
                continue
            throttled = response.status_code == 429 or bool(
                self.is_throttled and self.is_throttled(response))
            if throttled:
                wait = retry_after(response)
                wait = self.policy.default_wait if wait is None else wait
                if attempt >= self.policy.max_attempts or wait > self.policy.max_wait:
                    raise RateLimited(self.vendor, f"throttled {attempt} times; last "
                                      f"Retry-After {wait:g}s", status=response.status_code,
                                      retryable=True, url=_plain_url(request))
                self.sleep(wait)
                continue
            if response.status_code in self.policy.retry_statuses \
                    and attempt < self.policy.max_attempts:
                self.sleep(self._backoff(attempt))
                continue
            raise self._error(request, response)

    def _backoff(self, attempt: int) -> float:
        return float(min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1)))

    def _error(self, request: httpx.Request, response: httpx.Response) -> VendorError:
        message, code = (self.error_of(response) if self.error_of
                         else (response.text[:300] or response.reason_phrase, None))
        status = response.status_code
        kind = AuthError if status in (401, 403) else VendorError
        return kind(self.vendor, message, status=status, code=code,
                    retryable=status in self.policy.retry_statuses or status == 429,
                    url=_plain_url(request))
