"""Salesforce CRM connector: closed-won Opportunities → ``deal.closed_won``, amendments →
``contract.amended``, Outbound Messages and CDC in, sync status back out.

Settings (docs/connectors/salesforce.md; example in config/connectors/salesforce.example.yaml):
``instance_url``, ``org_id``, ``auth`` (``grant: jwt_bearer`` with ``client_id``,
``username``, ``private_key``, ``login_url``; or ``grant: client_credentials`` with
``client_id``, ``client_secret``), the field map (``fields``, ``line_fields``, ``defaults``,
``values``), ``won_stages``, ``amendments``, ``status_writeback``, ``relay_secret``, ``since``.
"""

from __future__ import annotations

from syncline.connectors.registry import Wiring
from syncline.connectors.salesforce import soql
from syncline.connectors.salesforce.client import (
    client_credentials_auth,
    jwt_auth,
    make_client,
    query,
)
from syncline.connectors.salesforce.settings import SalesforceSettings, SettingsInvalid, parse
from syncline.connectors.salesforce.streams import ChangeOrdersStream, OpportunitiesStream
from syncline.connectors.salesforce.webhooks import receive
from syncline.connectors.salesforce.writeback import OpportunityStatusTarget
from syncline.connectors.sdk.base import Check, Stream, WebhookReply, WebhookRequest
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.sdk.errors import VendorError
from syncline.connectors.sdk.http import VendorClient
from syncline.connectors.sdk.secrets import Secret, resolve

__all__ = ["OpportunityStatusTarget", "SalesforceConnector", "SettingsInvalid", "build"]


class SalesforceConnector:
    kind = "salesforce"

    def __init__(self, name: str, s: SalesforceSettings, client: VendorClient,
                 relay_secret: Secret | None = None) -> None:
        self.name, self.s, self.client, self.relay_secret = name, s, client, relay_secret
        self.source = f"salesforce/{name}"

    def streams(self) -> list[Stream]:
        out: list[Stream] = [OpportunitiesStream(self.client, self.s, self.source)]
        if self.s.amendments == "change_order":
            out.append(ChangeOrdersStream(self.client, self.s, self.source))
        return out

    def check(self) -> Check:
        """One query of one Opportunity with every configured field: proves the login, the
        permissions and that each configured custom field exists."""
        try:
            pages = list(query(self.client, self.s.api, soql.opportunities(self.s, None, 1)))
        except VendorError as err:
            return Check(False, str(err))
        seen = sum(len(p.get("records") or []) for p in pages)
        return Check(True, f"logged in to {self.s.instance_url}; the field map is readable "
                     f"({seen} closed-won Opportunity read)")

    def webhook(self, request: WebhookRequest) -> WebhookReply:
        return receive(request, self.s, self.source, self.relay_secret)

    def status_target(self, name: str = "crm") -> OpportunityStatusTarget:
        return OpportunityStatusTarget(self.client, self.s, name)


def build(config: ConnectorConfig, wiring: Wiring) -> SalesforceConnector:
    s = parse(config)
    auth_cfg = dict(config.setting("auth") or {})
    grant = auth_cfg.get("grant", "jwt_bearer")
    secrets = wiring.env
    if grant == "jwt_bearer":
        auth = jwt_auth(login_url=str(auth_cfg.get("login_url", "https://login.salesforce.com")),
                        client_id=_required(auth_cfg, "client_id"),
                        username=_required(auth_cfg, "username"),
                        private_key=_secret(auth_cfg, "private_key", secrets, wiring),
                        clock=wiring.clock, transport=wiring.transport)
    elif grant == "client_credentials":
        auth = client_credentials_auth(
            instance_url=s.instance_url, client_id=_required(auth_cfg, "client_id"),
            client_secret=_secret(auth_cfg, "client_secret", secrets, wiring),
            clock=wiring.clock, transport=wiring.transport)
    else:
        raise SettingsInvalid("auth.grant: jwt_bearer or client_credentials")
    relay = config.setting("relay_secret")
    client = make_client(s.instance_url, auth, transport=wiring.transport, sleep=wiring.sleep)
    return SalesforceConnector(config.name, s, client,
                               resolve(relay, secrets) if relay else None)


def _required(block: dict[str, object], key: str) -> str:
    value = block.get(key)
    if not value:
        raise SettingsInvalid(f"auth.{key}: required")
    return str(value)


def _secret(block: dict[str, object], key: str, env: dict[str, str] | None,
            wiring: Wiring) -> Secret:
    value = _required(block, key)
    if value.startswith("${file:") and not value.startswith("${file:/"):
        value = "${file:" + str(wiring.base_dir / value[7:-1]) + "}"
    return resolve(value, env)
