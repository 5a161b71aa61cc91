"""QBO webhooks: verify ``intuit-signature``, then wake the payments stream.

``intuit-signature`` = base64(HMAC-SHA256(key = the app's Verifier Token, message = the raw
body)) [doc: developer.intuit.com …/develop/webhooks; the same formula as python-quickbooks'
``validate_webhook_signature``]. A notification names changed records, never their content
(``{"eventNotifications":[{"realmId", "dataChangeEvent":{"entities":[{"name":"Payment",
"id", "operation", "lastUpdated"}]}}]}``), so nothing is stored from it: a Payment change
for this connector's realm wakes the ``payments`` stream, whose CDC read fetches it. Intuit
is moving to a CloudEvents body (a JSON array of events with ``type`` such as
``qbo.payment.created.v1`` and the realm in ``intuitaccountid``; unconfirmed): both shapes
are accepted. A duplicate delivery wakes the stream again and that read finds duplicates.
"""

from __future__ import annotations

import json
from typing import Any

from syncline.connectors.sdk.errors import SignatureError
from syncline.connectors.sdk.signatures import verify_hmac

SIGNATURE = "intuit-signature"


def verify(verifier_token: str, body: bytes, headers: dict[str, str]) -> None:
    verify_hmac(verifier_token, body, headers.get(SIGNATURE), algorithm="sha256",
                encoding="base64")


def changed_entities(body: bytes, realm_id: str) -> list[str]:
    """The entity names (``Payment``, ``Invoice`` …) changed in this realm."""
    try:
        doc: Any = json.loads(body)
    except ValueError:
        raise SignatureError("the body is not JSON") from None
    names: list[str] = []
    if isinstance(doc, dict):
        for note in doc.get("eventNotifications") or []:
            if str(note.get("realmId")) != realm_id:
                continue
            for entity in (note.get("dataChangeEvent") or {}).get("entities") or []:
                names.append(str(entity.get("name", "")))
    elif isinstance(doc, list):  # CloudEvents
        for event in doc:
            if not isinstance(event, dict) or str(event.get("intuitaccountid", realm_id)) \
                    != realm_id:
                continue
            parts = str(event.get("type", "")).split(".")
            if len(parts) >= 2:
                names.append(parts[1].capitalize())
    return names
