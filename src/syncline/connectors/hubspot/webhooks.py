"""HubSpot webhooks v3: verify the signature, then wake the deals stream.

The signature [doc: developers.hubspot.com/docs/apps/developer-platform/build-apps/
authentication/request-validation; spec: HubSpot/hubspot-api-python hubspot/utils/
signature.py]: ``X-HubSpot-Signature-v3`` is base64(HMAC-SHA256(key = the app's client
secret, message = method + URI + raw body + ``X-HubSpot-Request-Timestamp``)), UTF-8; a
timestamp (epoch ms) more than 5 minutes away from now is refused. The URI is the one
HubSpot called (``webhook_url`` in the settings when a proxy changes what the app sees),
hashed as given, as the official SDK does.

The body is a JSON array of subscription events (``eventId``, ``subscriptionType``,
``objectId``, ``propertyName``, ``propertyValue``, ``occurredAt``…): it names a changed deal
but does not carry it, so no event is stored from it. A delivery about deals (or their line
items) wakes the ``deals`` stream, whose next read fetches the deal, its lines and company;
a duplicate delivery wakes it again and that read finds only duplicates.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.signatures import check_timestamp, verify_hmac

SIGNATURE = "x-hubspot-signature-v3"
TIMESTAMP = "x-hubspot-request-timestamp"
WINDOW_SECONDS = 300
DEAL_OBJECT_TYPE = "0-3"
LINE_ITEM_OBJECT_TYPE = "0-8"


def verify(secret: str, *, method: str, uri: str, body: bytes, headers: dict[str, str],
           now: datetime) -> None:
    """``SignatureError`` unless the v3 signature and a fresh timestamp are right."""
    timestamp = headers.get(TIMESTAMP)
    check_timestamp(timestamp, now, window_seconds=WINDOW_SECONDS, unit="ms")
    message = method.upper().encode() + uri.encode() + body + str(timestamp).encode()
    verify_hmac(secret, message, headers.get(SIGNATURE), algorithm="sha256",
                encoding="base64")


def notifications(body: bytes) -> list[dict[str, Any]]:
    """The subscription events of a verified delivery (a JSON array of objects)."""
    try:
        events = json.loads(body)
    except ValueError:
        raise MappingError("hubspot", "webhook", "(body)", "the body is not JSON") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise MappingError("hubspot", "webhook", "(body)",
                           "expected a JSON array of subscription events")
    return events


def about_deals(event: dict[str, Any]) -> bool:
    kind = str(event.get("subscriptionType") or "")
    if kind.startswith(("deal.", "line_item.")):
        return True
    return str(event.get("objectTypeId") or "") in (DEAL_OBJECT_TYPE, LINE_ITEM_OBJECT_TYPE)
