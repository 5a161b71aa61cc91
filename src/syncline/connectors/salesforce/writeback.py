"""Sync status written back onto the Opportunity: the ``crm.status.update`` delivery target.

``deliver("crm.status.update", {"deal_id", "status", …}, key)`` PATCHes
``/sobjects/Opportunity/<external_id_field>/<deal_id>?updateOnly=true`` with the configured
status fields (payload key → field; keys without a field are not sent). An upsert by external
id is Salesforce's idempotency (connectors.md §1.3): the same write twice leaves the same
record, so a replayed delivery is harmless; ``updateOnly`` stops a status write from creating
an Opportunity. Writes carry ``Sforce-Call-Options: client=syncline`` so the CDC relay can drop
their echoes.

Outcomes: throttling, 5xx and auth failures (fixable, then replayed) → ``TransientFailure``;
no such deal (404), several matches (300) or a field Salesforce rejects (400) → ``Refused``.
There is nothing to compensate: a status is not a provisioning step.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from syncline.connectors.salesforce.settings import SalesforceSettings
from syncline.connectors.salesforce.webhooks import CALL_CLIENT
from syncline.connectors.sdk.errors import AuthError, VendorError
from syncline.connectors.sdk.http import VendorClient
from syncline.services.messaging.delivery import Refused, TransientFailure

KIND = "crm.status.update"


class OpportunityStatusTarget:
    """A ``Target`` (services/messaging/delivery.py) writing sync status to Salesforce."""

    def __init__(self, client: VendorClient, s: SalesforceSettings, name: str = "crm") -> None:
        if not s.status_id_field or not s.status_fields:
            raise ValueError("status write-back needs settings.status_writeback "
                             "(external_id_field and fields)")
        self.client, self.s, self.name = client, s, name
        self.id_field = s.status_id_field

    def deliver(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str:
        if kind != KIND:
            raise Refused(f"{self.name} (Salesforce) takes {KIND}, not {kind}")
        deal_id = payload.get("deal_id")
        if not deal_id:
            raise Refused(f"{KIND} without deal_id")
        body = {f: payload[k] for k, f in self.s.status_fields.items() if k in payload}
        if not body:
            raise Refused(f"{KIND} for {deal_id}: none of {', '.join(self.s.status_fields)} "
                          "in the payload")
        url = (f"{self.s.api}/sobjects/Opportunity/{self.id_field}/"
               f"{quote(str(deal_id), safe='')}")
        try:
            response = self.client.request(
                "PATCH", url, params={"updateOnly": "true"}, json=body,
                headers={"Sforce-Call-Options": f"client={CALL_CLIENT}"})
        except AuthError as err:
            raise TransientFailure(str(err)) from None
        except VendorError as err:
            if err.retryable:
                raise TransientFailure(str(err)) from None
            raise Refused(f"Salesforce refused the status of deal {deal_id}: {err}") from None
        if response.status_code == 300:
            raise Refused(f"several Opportunities have {self.id_field} = {deal_id}: make the "
                          "field Unique")
        record_id = response.json().get("id") if response.content else None
        return f"Opportunity/{record_id or f'{self.id_field}/{deal_id}'}"

    def compensate(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> None:
        return None  # a status write is not a provisioning step: nothing to undo
