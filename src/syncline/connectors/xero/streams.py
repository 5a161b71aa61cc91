"""The ``payments`` stream: Xero payments on Syncline's invoices → ``payment.received``.

Per tenant, ``GET /Payments`` with ``If-Modified-Since`` (records created or modified since
[spec: ``parameters/ifModifiedSince``]), ``order=UpdatedDateUTC ASC``, ``page`` and
``pageSize``. Each page is a batch; its cursor is the greatest ``UpdatedDateUTC`` seen per
tenant (JSON ``{tenant id: ISO time}``), stored with the batch, so a failure on page 2 leaves
page 1 stored and the cursor at page 1.

Paging by page number over a changing set can skip a record (one modified mid-read moves to
the end and shifts the rest back a page), so each next page is asked as page 1 of a fresh
read from the greatest time seen (keyset); only a full page that all shares that one
millisecond moves on by ``page``. The boundary record comes back and is a duplicate (same
event id: ``Payment/<PaymentID>@<Status>``; Xero payments are not edited, only deleted).

A payment is Syncline's when its invoice is ``ACCREC`` and its ``InvoiceNumber`` is a
Syncline invoice number of the tenant's legal entity (``US01-2026-000001``); anything else is
skipped. A deleted payment is refused, named by its PaymentID.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from syncline.billing.numbering import parse_number
from syncline.connectors.sdk.base import Batch
from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import envelope, epoch_ms, record_version_id, refusal
from syncline.connectors.xero.client import XeroApi
from syncline.connectors.xero.mapping import payment_data, xero_time


def since_text(moment: datetime) -> str:
    ms = epoch_ms(moment)
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") \
        + f"{ms % 1000:03d}Z"


class PaymentsStream:
    name = "payments"
    description = ("payments on Syncline's ACCREC invoices, per tenant by If-Modified-Since "
                   "→ payment.received")

    def __init__(self, apis: dict[str, XeroApi], *, source: str, since: str | None,
                 page_size: int) -> None:
        self.source, self.since, self.page_size = source, since, page_size
        self.tenants: dict[str, tuple[XeroApi, set[str]]] = {}
        for entity, api in sorted(apis.items()):
            self.tenants.setdefault(api.tenant_id, (api, set()))[1].add(entity)

    def read(self, cursor: str | None) -> Iterator[Batch]:
        position: dict[str, str] = json.loads(cursor) if cursor else {}
        for tenant, (api, entities) in sorted(self.tenants.items()):
            def ours(number: str, entities: set[str] = entities) -> bool:
                parsed = parse_number(number)
                return parsed is not None and parsed[1] == "" and parsed[0] in entities
            since, page = position.get(tenant) or self.since, 1
            while True:
                body = api.get("/Payments", {"order": "UpdatedDateUTC ASC", "page": page,
                                             "pageSize": self.page_size}, since)
                items = list(body.get("Payments") or [])
                batch = self.batch(items, ours)
                newest = max((xero_time(p["UpdatedDateUTC"]) for p in items), default=None)
                if newest is not None:
                    seen = position.get(tenant)
                    if seen is None or xero_time(seen) < newest:
                        position[tenant] = since_text(newest)
                batch.cursor = json.dumps(position, sort_keys=True)
                yield batch
                if len(items) < self.page_size or newest is None:
                    break
                if since is not None and since_text(newest) == since:
                    page += 1  # a full page of one millisecond: move on by page
                else:
                    since, page = since_text(newest), 1

    def batch(self, items: list[dict[str, Any]], ours: Any) -> Batch:
        out = Batch()
        for payment in items:
            pid = str(payment.get("PaymentID"))
            event_id = record_version_id("Payment", pid, str(payment.get("Status")))
            try:
                data = payment_data(payment, ours)
            except MappingError as err:
                out.refusals.append(refusal(source=self.source, event_id=event_id,
                                            record=payment, reason=str(err),
                                            etype="payment.received"))
                continue
            if data is None:
                continue
            updated = xero_time(payment["UpdatedDateUTC"])
            out.events.append(envelope(
                source=self.source, etype="payment.received", event_id=event_id,
                subject=f"invoice/{data['invoice_number']}", time=updated,
                sequence=epoch_ms(updated), data=data))
        return out
