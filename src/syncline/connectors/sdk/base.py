"""What a connector is: streams that read a vendor into canonical events, webhooks that
receive them, and a check that proves the credentials work.

A stream reads *pages*; each page becomes a ``Batch``: the canonical events, the records that
could not be mapped (``Refusal``: kept raw, rejected with a reason that names the vendor
record), and the cursor to store once the batch is committed. The service that runs a sync
(``services/connectors``) stores the batch and the cursor in one transaction, so a cursor
never passes a record that was not stored; a vendor error stops the run with the committed
pages kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from syncline.services.messaging.inbox import Refusal

Envelope = dict[str, Any]


@dataclass
class Batch:
    events: list[Envelope] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    cursor: str | None = None  # the stream's position after this batch (None: unchanged)


class Stream(Protocol):
    name: str
    description: str

    def read(self, cursor: str | None) -> Iterator[Batch]: ...


@dataclass
class Check:
    ok: bool
    detail: str


@dataclass
class WebhookReply:
    """What the receiver stores (events, refusals) and answers (status, body, media type)."""

    events: list[Envelope] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    status: int = 200
    body: str = ""
    media_type: str = "application/json"
    wake: list[str] = field(default_factory=list)  # streams to sync soon (a notification
    # that names changed records, not their content: HubSpot, Xero)


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    url: str  # as the vendor called it (scheme, host, path, query)
    headers: dict[str, str]  # lower-cased names
    body: bytes
    received_at: datetime


class Connector(Protocol):
    name: str
    kind: str

    def streams(self) -> list[Stream]: ...

    def check(self) -> Check: ...


class WebhookConnector(Connector, Protocol):
    def webhook(self, request: WebhookRequest) -> WebhookReply:
        """Verify the signature on the raw body (``SignatureError`` → 401), map the
        notification to canonical events; never slow (no vendor calls)."""
        ...
