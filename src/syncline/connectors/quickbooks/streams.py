"""The ``payments`` stream: QBO Payments applied to Syncline invoices → ``payment.received``.

Incremental by Change Data Capture (connectors.md §6.4): ``GET /cdc?entities=Payment&
changedSince=<cursor>``. CDC looks back at most 30 days and answers at most 1,000 objects,
so the stream falls back to a query — ``select * from Payment where
MetaData.LastUpdatedTime >= '<cursor>'`` paged by STARTPOSITION/MAXRESULTS — when the cursor
is older than ``CDC_DAYS`` (29: a day's margin on Intuit's 30), on the first read (no
cursor: every payment, or those since ``since``), or when CDC returned a full 1,000.

The invoices a page's payments link to are read by Id (``select * from Invoice where Id in
(…)``) for their DocNumber. The cursor is the newest ``MetaData.LastUpdatedTime`` seen — for
CDC at least the response ``time`` less ``cdc_overlap_seconds`` (QBO's clock, so a quiet
month does not age the cursor past CDC's window) — stored by a last, empty batch once every
page is stored. Re-reading is harmless: event ids are ``Payment/<id>/<invoice id>@<SyncToken>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from syncline.connectors.quickbooks import mapping
from syncline.connectors.quickbooks.client import PAGE, QboApi, quote
from syncline.connectors.quickbooks.settings import QboSettings
from syncline.connectors.sdk.base import Batch
from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import (
    envelope,
    epoch_ms,
    parse_time,
    record_version_id,
    refusal,
    rfc3339,
)

CDC_DAYS = 29
IDS_PER_QUERY = 100


def qbo_time(moment: datetime) -> str:
    """A date-time as QBO's examples write it (an explicit offset)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class PaymentsStream:
    name = "payments"
    description = "QBO Payments applied to Syncline invoices → payment.received (CDC)"

    def __init__(self, api: QboApi, settings: QboSettings, source: str,
                 clock: Callable[[], datetime]) -> None:
        self.api, self.settings, self.source, self.clock = api, settings, source, clock
        self.last_path = ""  # "cdc" or "query": which read the last run used (visible)

    def read(self, cursor: str | None) -> Iterator[Batch]:
        since = cursor or self.settings.since
        newest = since
        now = self.clock()
        pages: Iterator[list[dict[str, Any]]] | None = None
        if since and now - parse_time(since) < timedelta(days=CDC_DAYS):
            found, served_at = self.api.cdc("Payment", qbo_time(parse_time(since)))
            payments = found.get("Payment", [])
            if len(payments) < PAGE:
                self.last_path = "cdc"
                pages = iter([payments])
                if served_at:
                    floor = parse_time(served_at) - timedelta(
                        seconds=self.settings.cdc_overlap_seconds)
                    newest = max(newest or "", rfc3339(min(floor, now)))
        if pages is None:
            self.last_path = "query"
            where = (f" where MetaData.LastUpdatedTime >= {quote(qbo_time(parse_time(since)))}"
                     if since else "")
            pages = self.api.query_pages(f"select * from Payment{where} "
                                         "ORDERBY MetaData.LastUpdatedTime")
        for payments in pages:  # in LastUpdatedTime order: a page's newest is a safe cursor
            batch = self._batch(payments)
            stamps = [rfc3339(parse_time(_updated(p))) for p in payments if _updated(p)]
            newest = max([newest or "", *stamps]) or None
            batch.cursor = newest
            yield batch

    def _batch(self, payments: list[dict[str, Any]]) -> Batch:
        s, batch = self.settings, Batch()
        live = [p for p in payments if not mapping.is_deleted(p)]
        numbers = self._doc_numbers({i for p in live for i in mapping.linked_invoices(p)})
        for payment in live:
            version = str(payment.get("SyncToken") or _updated(payment))
            try:
                applied = mapping.applications(payment, numbers, s.invoice_prefixes,
                                               s.home_currency, s.realm_id)
            except MappingError as bad:
                batch.refusals.append(refusal(
                    source=self.source, record=payment, reason=str(bad),
                    event_id=record_version_id(mapping.RECORD, str(payment.get("Id")), version),
                    etype="payment.received"))
                continue
            when = parse_time(_updated(payment) or f"{payment['TxnDate']}T00:00:00Z")
            for data in applied:
                batch.events.append(envelope(
                    source=self.source, etype="payment.received",
                    event_id=record_version_id(mapping.RECORD, data["payment_id"], version),
                    subject=f"invoice/{data['invoice_number']}", time=when,
                    sequence=epoch_ms(when), data=data))
        return batch

    def _doc_numbers(self, invoice_ids: set[str]) -> dict[str, str]:
        ids, out = sorted(invoice_ids), {}
        for i in range(0, len(ids), IDS_PER_QUERY):
            chunk = ", ".join(quote(x) for x in ids[i:i + IDS_PER_QUERY])
            for inv in self.api.query(f"select * from Invoice where Id in ({chunk})"):
                if inv.get("DocNumber"):
                    out[str(inv["Id"])] = str(inv["DocNumber"])
        return out


def _updated(payment: dict[str, Any]) -> str:
    return str((payment.get("MetaData") or {}).get("LastUpdatedTime") or "")
