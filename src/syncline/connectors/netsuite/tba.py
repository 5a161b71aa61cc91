"""NetSuite token-based authentication: OAuth 1.0a with HMAC-SHA256 (RFC 5849).

Every request is signed afresh (a new nonce and timestamp), so a retry is never a replay:

- the *signature base string* (RFC 5849 §3.4.1) is ``METHOD&enc(base URI)&enc(params)``:
  the method upper-case; the base URI with scheme and host lower-case, no default port, no
  query; the parameters are the query string's plus every ``oauth_*`` value except
  ``realm`` and ``oauth_signature``, each name and value percent-encoded (§3.6: only
  ``A-Z a-z 0-9 - . _ ~`` stay as they are), sorted by name then value, joined ``n=v`` with
  ``&``. A JSON body is not a parameter (only a form body would be);
- the key is ``enc(consumer secret)&enc(token secret)``; the signature is the base64
  HMAC-SHA256 of the base string;
- the header is ``Authorization: OAuth realm="<account id>", oauth_consumer_key=…,
  oauth_token=…, oauth_signature_method="HMAC-SHA256", oauth_timestamp=…, oauth_nonce=…,
  oauth_version="1.0", oauth_signature=…`` with every value percent-encoded (§3.5.1).

The realm is the account id as NetSuite writes it (``1234567_SB1`` for a sandbox, upper-case
with the underscore; its host is ``1234567-sb1``). Reference: NetSuite help "The Signature for
Web Services and RESTlets" and "The Authorization Headers" (section_1534941295).

A TBA token does not expire, so there is nothing to refresh; ``refresh`` answers True once so
a 401 (a clock skew, a nonce NetSuite saw already) is retried with a fresh signature, and a
second 401 is an ``AuthError`` (a revoked token, a wrong secret or role).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from syncline.connectors.sdk.secrets import Secret

METHOD = "HMAC-SHA256"


def enc(value: str) -> str:
    """RFC 5849 §3.6 percent-encoding (UTF-8; unreserved characters kept)."""
    return quote(value, safe="~")


def base_uri(url: httpx.URL) -> str:
    """§3.4.1.2: scheme and host lower-case, the port only when not the default, no query."""
    scheme, host = url.scheme.lower(), (url.host or "").lower()
    port = url.port
    default = (scheme == "https" and port in (None, 443)) or (scheme == "http"
                                                               and port in (None, 80))
    authority = host if default else f"{host}:{port}"
    return f"{scheme}://{authority}{url.raw_path.split(b'?', 1)[0].decode('ascii')}"


def normalized_parameters(pairs: Iterable[tuple[str, str]]) -> str:
    """§3.4.1.3.2: encode each name and value, sort by name then value, join."""
    encoded = sorted((enc(k), enc(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def base_string(method: str, url: httpx.URL, oauth: dict[str, str]) -> str:
    params = list(url.params.multi_items()) + [
        (k, v) for k, v in oauth.items() if k not in ("realm", "oauth_signature")]
    return "&".join((method.upper(), enc(base_uri(url)), enc(normalized_parameters(params))))


def signature(base: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{enc(consumer_secret)}&{enc(token_secret)}".encode()
    digest = hmac.new(key, base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def header(realm: str, oauth: dict[str, str]) -> str:
    parts = [f'realm="{enc(realm)}"'] + [f'{k}="{enc(v)}"' for k, v in oauth.items()]
    return "OAuth " + ", ".join(parts)


def parse_header(value: str) -> dict[str, str]:
    """The parameters of an ``OAuth …`` header, decoded (the fake checks them)."""
    from urllib.parse import unquote

    if not value.startswith("OAuth "):
        return {}
    out: dict[str, str] = {}
    for part in value[len("OAuth "):].split(","):
        name, _, quoted = part.strip().partition("=")
        out[name] = unquote(quoted.strip().strip('"'))
    return out


@dataclass
class TokenBasedAuth:
    """Signs each request with the integration's consumer key/secret and the user's token."""

    account_id: str  # the realm: ``1234567`` or ``1234567_SB1``
    consumer_key: Secret
    consumer_secret: Secret
    token_id: Secret
    token_secret: Secret
    clock: Callable[[], float] = time.time
    nonce: Callable[[], str] = field(default=lambda: secrets.token_hex(16))
    signed: int = 0

    def oauth_parameters(self, timestamp: int, nonce: str) -> dict[str, str]:
        return {"oauth_consumer_key": self.consumer_key.reveal(),
                "oauth_token": self.token_id.reveal(),
                "oauth_signature_method": METHOD, "oauth_timestamp": str(timestamp),
                "oauth_nonce": nonce, "oauth_version": "1.0"}

    def apply(self, request: httpx.Request) -> None:
        oauth = self.oauth_parameters(int(self.clock()), self.nonce())
        base = base_string(request.method, request.url, oauth)
        oauth["oauth_signature"] = signature(base, self.consumer_secret.reveal(),
                                             self.token_secret.reveal())
        request.headers["Authorization"] = header(self.account_id, oauth)
        self.signed += 1

    def refresh(self) -> bool:
        return True  # nothing to fetch: the next ``apply`` signs with a fresh nonce
