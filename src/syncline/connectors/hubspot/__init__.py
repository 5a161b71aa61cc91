"""HubSpot CRM: closed-won deals, their line items and company → ``deal.closed_won``.

One stream (``deals``, streams.py) polls the CRM search API; webhooks v3 (webhooks.py) are
verified and wake it. Settings, the mapping and what is unconfirmed: docs/connectors/hubspot.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import httpx

from syncline.connectors.hubspot import client as hs
from syncline.connectors.hubspot.settings import HubSpotSettings, parse
from syncline.connectors.hubspot.streams import DealsStream
from syncline.connectors.hubspot.webhooks import about_deals, notifications, verify
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.base import Check, Stream, WebhookReply, WebhookRequest
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.sdk.errors import SignatureError, VendorError
from syncline.connectors.sdk.http import Authenticator
from syncline.services.clock import system_clock


class HubSpotConnector:
    kind = "hubspot"

    def __init__(self, name: str, settings: HubSpotSettings, *,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.name, self.settings = name, settings
        self.clock = clock or system_clock
        self.auth: Authenticator
        if settings.oauth is not None:
            o = settings.oauth
            self.auth = hs.oauth(hs.RefreshGrant(o.client_id, o.client_secret, o.refresh_token),
                                 base_url=settings.base_url, transport=transport,
                                 clock=lambda: self.clock().timestamp())
        else:
            assert settings.token is not None
            self.auth = hs.private_app(settings.token)
        self.client = hs.vendor_client(self.auth, base_url=settings.base_url,
                                       transport=transport, sleep=sleep or time.sleep)
        self.api = hs.HubSpotApi(self.client, objects_path=settings.objects_path,
                                 associations_path=settings.associations_path)
        self.deals = DealsStream(self.api, settings.terms, source=f"hubspot/{name}",
                                 page_size=settings.page_size, window=settings.search_window,
                                 sort_form=settings.sort_form, since=settings.since)

    def streams(self) -> list[Stream]:
        return [self.deals]

    def check(self) -> Check:
        """One search (the token and the deals scope), then every configured custom property
        exists on its object (an unknown name would read as empty on every deal)."""
        try:
            self.api.search("deals", {"limit": 1, "properties": ["hs_lastmodifieddate"]})
            missing = [f"deals.{p}" for p in sorted(set(self.settings.terms.fields.values()))
                       if not self.api.property_exists("deals", p)]
            missing += [f"line_items.{p}"
                        for p in sorted(set(self.settings.terms.line_fields.values()))
                        if not self.api.property_exists("line_items", p)]
        except VendorError as err:
            return Check(False, str(err))
        if missing:
            return Check(False, "configured properties HubSpot does not have: "
                         + ", ".join(missing))
        return Check(True, f"search answered; {self.client.sent} request(s)")

    def webhook(self, request: WebhookRequest) -> WebhookReply:
        """Verify (401 otherwise), keep, and wake ``deals``: the body names changes only."""
        if self.settings.webhook_secret is None:
            raise SignatureError("no webhook_secret configured: deliveries cannot be verified")
        verify(self.settings.webhook_secret.reveal(), method=request.method,
               uri=self.settings.webhook_url or request.url, body=request.body,
               headers=request.headers, now=request.received_at)
        events = notifications(request.body)
        wake = [self.deals.name] if any(about_deals(e) for e in events) else []
        return WebhookReply(status=200, body=f'{{"received": {len(events)}}}', wake=wake)


def build(config: ConnectorConfig, wiring: Wiring) -> HubSpotConnector:
    return HubSpotConnector(config.name, parse(config, wiring.env), transport=wiring.transport,
                            sleep=wiring.sleep, clock=wiring.clock)
