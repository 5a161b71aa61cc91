"""Webhook signature verification: one reusable piece for every connector (issue 11).

A vendor signs the *raw* request body (sometimes with the method, URL and a timestamp) with
a shared secret. ``verify_hmac`` recomputes the HMAC over exactly the bytes the vendor signed
and compares in constant time (``hmac.compare_digest``); ``check_timestamp`` refuses a
message outside the window (replays). Connectors build the signed bytes and the expected
encoding from their documentation; none re-serializes JSON before verifying.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from syncline.connectors.sdk.errors import SignatureError

_ALGORITHMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "sha512": hashlib.sha512}


def hmac_digest(secret: str | bytes, message: bytes, *, algorithm: str = "sha256",
                encoding: str = "hex") -> str:
    """The HMAC of ``message`` as the vendor writes it: ``hex`` or ``base64``."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, message, _ALGORITHMS[algorithm]).digest()
    if encoding == "hex":
        return mac.hex()
    if encoding == "base64":
        return base64.b64encode(mac).decode("ascii")
    raise ValueError(f"unknown signature encoding {encoding!r}")


def verify_hmac(secret: str | bytes, message: bytes, signature: str | None, *,
                algorithm: str = "sha256", encoding: str = "hex", prefix: str = "") -> None:
    """Raise ``SignatureError`` unless ``signature`` is the HMAC of ``message``.

    ``prefix`` is stripped first (e.g. ``sha256=``). The comparison is constant-time.
    """
    if not signature:
        raise SignatureError("missing signature header")
    given = signature.strip()
    if prefix:
        if not given.startswith(prefix):
            raise SignatureError(f"signature does not start with {prefix!r}")
        given = given[len(prefix):]
    expected = hmac_digest(secret, message, algorithm=algorithm, encoding=encoding)
    if encoding == "hex":
        given = given.lower()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise SignatureError("signature does not match the body")


def check_timestamp(timestamp: str | None, now: datetime, *, window_seconds: int = 300,
                    unit: str = "ms") -> None:
    """Refuse a webhook whose timestamp (epoch ``ms`` or ``s``) is outside ``window_seconds``
    of ``now`` either way: a replay, or a clock too far off to trust."""
    if not timestamp:
        raise SignatureError("missing timestamp header")
    try:
        value = int(timestamp)
    except ValueError:
        raise SignatureError(f"timestamp {timestamp[:40]!r} is not an integer") from None
    seconds = value / 1000 if unit == "ms" else value
    now_s = now.astimezone(UTC).timestamp()
    if abs(now_s - seconds) > window_seconds:
        raise SignatureError(f"timestamp is outside the {window_seconds}-second window "
                             "(a replay, or a clock far off)")
