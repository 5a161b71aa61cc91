"""Xero webhooks: ``x-xero-signature`` and intent to receive.

[spec: XeroAPI/Xero-OpenAPI xero-webhooks.yaml (``x-xero-signature``: "a hashed signature of
the payload"; 200 = received, 401 = invalid); doc: developer.xero.com/documentation/guides/
webhooks/configuring-your-server; connectors.md §7.6]

- The signature is base64(HMAC-SHA256(key = the webhook key, message = the raw body bytes)),
  compared in constant time before the body is parsed.
- Intent to receive: when a webhook is set up (and on every later delivery) Xero sends
  signed posts, some with a wrong signature; the endpoint answers 200 with an empty body to
  a correct one and 401 with an empty body to a wrong one, within 5 seconds.
- The body (``events``: ``resourceUrl``, ``resourceId``, ``tenantId``, ``eventCategory``
  CONTACT|INVOICE|CREDITNOTE|SUBSCRIPTION, ``eventType`` CREATE|UPDATE, ``eventDateUtc``;
  ``firstEventSequence``, ``lastEventSequence``, ``entropy``) names changed records only, and
  Xero has no payment category: a payment shows as an INVOICE UPDATE. So no event is stored
  from a delivery; one that names an invoice or a credit note (or an intent-to-receive probe,
  with no events) wakes the ``payments`` stream, whose next read finds what changed.
"""

from __future__ import annotations

import json
from typing import Any

from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.signatures import verify_hmac

SIGNATURE = "x-xero-signature"
WAKING = {"INVOICE", "CREDITNOTE"}


def verify(key: str, body: bytes, headers: dict[str, str]) -> None:
    """``SignatureError`` unless ``x-xero-signature`` is the body's HMAC under ``key``."""
    verify_hmac(key, body, headers.get(SIGNATURE), algorithm="sha256", encoding="base64")


def events(body: bytes) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(body)
    except ValueError:
        raise MappingError("xero", "webhook", "(body)", "the body is not JSON") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("events", []), list):
        raise MappingError("xero", "webhook", "(body)", "expected {\"events\": [...]}")
    return [e for e in parsed.get("events", []) if isinstance(e, dict)]


def wakes_payments(notified: list[dict[str, Any]], tenants: set[str]) -> bool:
    return any(e.get("eventCategory") in WAKING and e.get("tenantId") in tenants
               for e in notified)
