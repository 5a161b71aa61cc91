"""QuickBooks Online (Accounting API v3) as an ERP target, and its payments coming back.

``build(config, wiring)`` makes the connector (kind ``quickbooks``): ``target()`` posts
customers, invoices, credit memos and journal entries exactly once (target.py);
``streams()`` is ``payments`` (CDC → ``payment.received``, streams.py); ``webhook`` verifies
``intuit-signature`` and wakes it; ``validate()`` reads every mapped account, item, tax
code, class and currency (validate.py); ``check()`` signs in and validates. Reference:
docs/connectors/quickbooks.md; the fake vendor is ``fake.FakeQuickBooks``.
"""

from __future__ import annotations

from syncline.connectors.quickbooks import settings as qbo_settings
from syncline.connectors.quickbooks import webhooks
from syncline.connectors.quickbooks.client import QboApi
from syncline.connectors.quickbooks.streams import PaymentsStream
from syncline.connectors.quickbooks.target import QboTarget
from syncline.connectors.quickbooks.tokens import TokenStore, TokenStoreError
from syncline.connectors.quickbooks.validate import validate
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.base import Check, Stream, WebhookReply, WebhookRequest
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.sdk.errors import SignatureError, VendorError


class QuickBooksConnector:
    kind = "quickbooks"

    def __init__(self, config: ConnectorConfig, wiring: Wiring) -> None:
        self.name = config.name
        self.settings = qbo_settings.parse(config, wiring.env, wiring.base_dir)
        self.tokens = TokenStore(self.settings.token_store, self.settings.refresh_token,
                                 self.settings.realm_id, wiring.clock)
        self.api = QboApi(self.settings, self.tokens, wiring)
        self.source = f"{self.kind}/{self.name}"
        self.payments = PaymentsStream(self.api, self.settings, self.source, wiring.clock)
        self._target = QboTarget(self.name, self.api, self.settings)

    def streams(self) -> list[Stream]:
        return [self.payments]

    def target(self) -> QboTarget:
        return self._target

    def validate(self) -> list[str]:
        return validate(self.api, self.settings)

    def check(self) -> Check:
        try:
            problems = self.validate()
        except (VendorError, TokenStoreError) as err:
            return Check(False, str(err))
        if problems:
            return Check(False, "; ".join(problems))
        return Check(True, f"realm {self.settings.realm_id}: signed in; the mapping matches")

    def webhook(self, request: WebhookRequest) -> WebhookReply:
        if self.settings.verifier_token is None:
            raise SignatureError("no verifier_token configured for this connector")
        webhooks.verify(self.settings.verifier_token.reveal(), request.body, request.headers)
        changed = webhooks.changed_entities(request.body, self.settings.realm_id)
        return WebhookReply(wake=["payments"] if "Payment" in changed else [])


def build(config: ConnectorConfig, wiring: Wiring) -> QuickBooksConnector:
    return QuickBooksConnector(config, wiring)
