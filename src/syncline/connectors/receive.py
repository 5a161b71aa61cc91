"""Receive a webhook: verify on the raw body, keep it, store its events, answer fast.

A bad signature (or a body the connector cannot read) is kept in the webhook log as refused
and answered 401 (or 400); nothing of it reaches the inbox. A verified delivery is kept and
its events and refusals go to the inbox in the same transaction, so an acknowledged delivery
is never lost; a duplicate delivery is a duplicate in the inbox (same vendor ids).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from syncline.connectors.sdk.base import WebhookConnector, WebhookReply, WebhookRequest
from syncline.connectors.sdk.errors import MappingError, SignatureError
from syncline.services.connectors import webhooks
from syncline.services.messaging.inbox import receive_many


@dataclass
class Received:
    reply: WebhookReply
    log_id: str
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


def receive(engine: Engine, connector: WebhookConnector, request: WebhookRequest) -> Received:
    try:
        reply = connector.webhook(request)
    except SignatureError as bad:
        log_id = webhooks.record_refused(engine, connector.name, headers=request.headers,
                                         body=request.body, reason=str(bad),
                                         now=request.received_at)
        # a vendor may require an empty body on the 401 (Xero's intent to receive)
        body = "" if getattr(connector, "empty_refusals", False) else _problem(str(bad))
        return Received(WebhookReply(status=401, body=body), log_id)
    except (MappingError, ValueError, KeyError, TypeError) as bad:
        # a body the connector cannot read (a MappingError, or malformed JSON/XML that
        # escaped its parser): kept as refused, answered 400 — never a 500
        reason = str(bad) if isinstance(bad, MappingError) else \
            f"unreadable webhook body: {type(bad).__name__}: {str(bad)[:200]}"
        log_id = webhooks.record_refused(engine, connector.name, headers=request.headers,
                                         body=request.body, reason=reason,
                                         now=request.received_at)
        return Received(WebhookReply(status=400, body=_problem(reason)), log_id)
    with engine.begin() as conn:
        receipts = receive_many(conn, [*reply.events, *reply.refusals],
                                now=request.received_at)
        log_id = webhooks.record(conn, connector.name, headers=request.headers,
                                 body=request.body, status="accepted", reason=None,
                                 events=len(reply.events), now=request.received_at)
    out = Received(reply, log_id)
    for r in receipts:
        if r.status == "accepted":
            out.accepted += 1
        elif r.status == "duplicate":
            out.duplicates += 1
        else:
            out.rejected += 1
    return out


def _problem(detail: str) -> str:
    import json

    return json.dumps({"detail": detail})
