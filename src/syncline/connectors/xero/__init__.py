"""Xero (Accounting API 2.0): the ERP target of one or more legal entities, and payments back.

``build(config, wiring)`` makes the connector: ``target()`` posts customers (Contacts),
invoices (``ACCREC``), credit notes (``ACCRECCREDIT``) and manual journals, each to the
tenant of its legal entity (target.py); ``streams()`` is ``payments`` (streams.py:
``payment.received``); ``webhook`` verifies ``x-xero-signature`` and wakes ``payments``;
``check`` signs in and validates; ``validate`` names every mapped code Xero lacks. Settings,
mapping and what is unconfirmed: docs/connectors/xero.md; the fake vendor: ``fake.FakeXero``.
"""

from __future__ import annotations

from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.base import Check, Stream, WebhookReply, WebhookRequest
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.sdk.errors import SignatureError, VendorError
from syncline.connectors.xero import client as xc
from syncline.connectors.xero import webhooks
from syncline.connectors.xero.settings import XeroSettings, parse
from syncline.connectors.xero.streams import PaymentsStream
from syncline.connectors.xero.target import XeroTarget
from syncline.connectors.xero.tokens import FileTokenStore
from syncline.connectors.xero.validate import problems_of


class XeroConnector:
    kind = "xero"
    # Xero's intent to receive wants an empty body on a 401 too (connectors/receive.py)
    empty_refusals = True

    def __init__(self, name: str, settings: XeroSettings, wiring: Wiring) -> None:
        self.name, self.settings = name, settings
        store = (FileTokenStore(settings.token_store, settings.refresh_token)
                 if settings.grant == "refresh_token" and settings.token_store else None)
        self.auth = xc.oauth(client_id=settings.client_id, client_secret=settings.client_secret,
                             grant=xc.Grant(settings.grant, store), token_url=settings.token_url,
                             transport=wiring.transport,
                             clock=lambda: wiring.clock().timestamp())
        self.apis = {
            entity: xc.XeroApi(xc.tenant_client(
                self.auth, settings.tenants[entity], base_url=settings.base_url,
                limit=settings.max_in_flight, transport=wiring.transport, sleep=wiring.sleep),
                settings.tenants[entity], settings.page_size)
            for entity in settings.mapping.entities}
        self.payments = PaymentsStream(self.apis, source=f"{self.kind}/{name}",
                                       since=settings.payments_since,
                                       page_size=settings.page_size)
        self._target = XeroTarget(settings, self.apis, name)

    def streams(self) -> list[Stream]:
        return [self.payments]

    def target(self) -> XeroTarget:
        return self._target

    def validate(self) -> list[str]:
        return problems_of(self.settings, self.apis)

    def check(self) -> Check:
        try:
            problems = self.validate()
        except VendorError as err:
            return Check(False, str(err))
        if problems:
            return Check(False, "; ".join(problems))
        return Check(True, f"{len(self.apis)} tenant(s) answered; every mapped account, tax "
                           "type and tracking option exists and is active")

    def webhook(self, request: WebhookRequest) -> WebhookReply:
        """Verify on the raw body (401, empty body, otherwise); 200 with an empty body; wake
        ``payments`` for invoice and credit note changes of our tenants."""
        if self.settings.webhook_key is None:
            raise SignatureError("no webhook_key configured: deliveries cannot be verified")
        webhooks.verify(self.settings.webhook_key.reveal(), request.body, request.headers)
        notified = webhooks.events(request.body)
        tenants = {api.tenant_id for api in self.apis.values()}
        wake = [self.payments.name] if webhooks.wakes_payments(notified, tenants) else []
        return WebhookReply(status=200, body="", media_type="text/plain", wake=wake)


def build(config: ConnectorConfig, wiring: Wiring) -> XeroConnector:
    return XeroConnector(config.name, parse(config, wiring.env, wiring.base_dir), wiring)
