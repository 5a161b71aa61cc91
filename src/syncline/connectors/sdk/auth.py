"""Authenticators: how a request carries credentials, and how they are refreshed.

- ``StaticHeaders``: fixed headers (a private-app token, a Harvest personal access token with
  its ``Harvest-Account-Id``); nothing to refresh.
- ``Basic``: HTTP Basic (a Workday integration system user).
- ``OAuth2``: an access token from a token endpoint, cached until shortly before it expires
  and fetched again after a 401. ``grant`` builds the token request's form (client
  credentials, a refresh token, or a JWT bearer assertion); when the vendor rotates the
  refresh token, ``on_rotate`` receives the new one *before* it is used, so a crash cannot
  lose it. One lock serializes refreshes: two threads that both see a 401 refresh once.

Secrets are held in ``Secret`` values, whose ``repr`` and ``str`` never show them.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from syncline.connectors.sdk.errors import AuthError
from syncline.connectors.sdk.secrets import Secret


@dataclass
class StaticHeaders:
    headers: dict[str, Secret | str]

    def apply(self, request: httpx.Request) -> None:
        for name, value in self.headers.items():
            request.headers[name] = value.reveal() if isinstance(value, Secret) else value

    def refresh(self) -> bool:
        return False


def bearer(token: Secret) -> StaticHeaders:
    return StaticHeaders({"Authorization": Secret("Bearer " + token.reveal())})


@dataclass
class Basic:
    username: str
    password: Secret

    def apply(self, request: httpx.Request) -> None:
        pair = f"{self.username}:{self.password.reveal()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()

    def refresh(self) -> bool:
        return False


@dataclass
class OAuth2:
    """An OAuth 2.0 access token from ``token_url``; ``grant()`` returns the form to post."""

    vendor: str
    token_url: str
    grant: Callable[[], dict[str, str]]
    transport: httpx.BaseTransport | None = None
    client_auth: tuple[str, Secret] | None = None  # HTTP Basic client authentication
    on_rotate: Callable[[str], None] | None = None  # a new refresh token, to persist
    clock: Callable[[], float] = time.time
    skew: float = 60.0
    extra_headers: dict[str, str] = field(default_factory=dict)
    token_requests: int = 0
    _token: str | None = None
    _expires_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    instance_url: str | None = None  # Salesforce answers with the org's instance URL

    def apply(self, request: httpx.Request) -> None:
        token = self._token
        if token is None or self._expired():
            self._fetch(stale=token)
        request.headers["Authorization"] = f"Bearer {self._token}"
        for name, value in self.extra_headers.items():
            request.headers[name] = value

    def refresh(self) -> bool:
        self._fetch(stale=self._token)
        return True

    def _expired(self) -> bool:
        return self.clock() >= self._expires_at - self.skew

    def _fetch(self, *, stale: str | None) -> None:
        with self._lock:
            if self._token is not None and self._token != stale and not self._expired():
                return  # another thread fetched a fresh token while this one waited
            self.token_requests += 1
            kwargs: dict[str, Any] = {"data": self.grant()}
            if self.client_auth:
                kwargs["auth"] = (self.client_auth[0], self.client_auth[1].reveal())
            with httpx.Client(transport=self.transport, timeout=30.0) as http:
                response = http.post(self.token_url, **kwargs)
            if response.status_code >= 400:
                raise AuthError(self.vendor, "the token endpoint refused the credentials: "
                                + _oauth_error(response), status=response.status_code,
                                url=self.token_url)
            body = response.json()
            rotated = body.get("refresh_token")
            if rotated and self.on_rotate:
                self.on_rotate(rotated)
            self._token = body["access_token"]
            self._expires_at = self.clock() + float(body.get("expires_in") or 900)
            self.instance_url = body.get("instance_url") or self.instance_url


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return " ".join(str(body.get(k)) for k in ("error", "error_description") if body.get(k))
    return response.text[:200]
