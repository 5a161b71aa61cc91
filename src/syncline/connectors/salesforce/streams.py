"""The connector's streams: one SOQL page → one batch, its cursor the page's newest
``SystemModstamp``.

``opportunities`` reads closed-won Opportunities (with Account and line items) into
``deal.closed_won`` (and ``contract.amended`` for amendment opportunities); ``change_orders``
reads the configured change-order object into ``contract.amended``. A record that cannot be
mapped is a refusal naming its Id and link; the batch still carries the cursor past it (it is
stored, as a refusal, in the same transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from syncline.connectors.salesforce import soql
from syncline.connectors.salesforce.amendments import is_amendment
from syncline.connectors.salesforce.client import query
from syncline.connectors.salesforce.events import (
    Envelope,
    change_order_event,
    opportunity_event,
    refused,
)
from syncline.connectors.salesforce.settings import SalesforceSettings
from syncline.connectors.sdk.base import Batch
from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import parse_time
from syncline.connectors.sdk.http import VendorClient


class _SoqlStream:
    name = ""
    description = ""
    sobject = ""

    def __init__(self, client: VendorClient, s: SalesforceSettings, source: str) -> None:
        self.client, self.s, self.source = client, s, source

    def soql(self, since: str | None) -> str:
        raise NotImplementedError

    def event(self, record: dict[str, Any]) -> tuple[Callable[[], Envelope], str]:
        raise NotImplementedError

    def read(self, cursor: str | None) -> Iterator[Batch]:
        for page in query(self.client, self.s.api, self.soql(cursor or self.s.since)):
            batch = Batch()
            newest: datetime | None = None
            for record in page.get("records") or []:
                stamp = parse_time(str(record["SystemModstamp"]))
                newest = stamp if newest is None else max(newest, stamp)
                make, etype = self.event(record)
                try:
                    batch.events.append(make())
                except MappingError as bad:
                    batch.refusals.append(refused(record, self.sobject, bad, self.source,
                                                  etype))
            batch.cursor = soql.cursor_of(newest) if newest else None
            yield batch


class OpportunitiesStream(_SoqlStream):
    name = "opportunities"
    description = ("closed-won Opportunities with their Account and line items → "
                   "deal.closed_won (amendment opportunities → contract.amended)")
    sobject = "Opportunity"

    def soql(self, since: str | None) -> str:
        return soql.opportunities(self.s, since)

    def event(self, record: dict[str, Any]) -> tuple[Callable[[], Envelope], str]:
        etype = "contract.amended" if is_amendment(record, self.s) else "deal.closed_won"
        return (lambda: opportunity_event(record, self.s, self.source)), etype


class ChangeOrdersStream(_SoqlStream):
    name = "change_orders"
    description = "the configured change-order object and its lines → contract.amended"

    def __init__(self, client: VendorClient, s: SalesforceSettings, source: str) -> None:
        super().__init__(client, s, source)
        assert s.change_orders is not None
        self.sobject = s.change_orders.object

    def soql(self, since: str | None) -> str:
        return soql.change_orders(self.s, since)

    def event(self, record: dict[str, Any]) -> tuple[Callable[[], Envelope], str]:
        return (lambda: change_order_event(record, self.s, self.source)), "contract.amended"
