"""The ``payments`` stream: customer payments applied to invoices → ``payment.received``.

One SuiteQL read, incremental on the payment's ``lastmodifieddate``:

```sql
SELECT pay.id AS payment, pay.tranid AS payment_number,
       TO_CHAR(pay.trandate, 'YYYY-MM-DD') AS received_on,
       TO_CHAR(pay.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS modified, pay.memo AS memo,
       inv.id AS invoice, inv.externalid AS invoice_external_id,
       link.foreignamount AS amount, cur.symbol AS currency
FROM previoustransactionlinelink link
JOIN transaction pay ON pay.id = link.nextdoc
JOIN transaction inv ON inv.id = link.previousdoc
JOIN currency cur ON cur.id = pay.currency
WHERE link.linktype = 'Payment' AND pay.type = 'CustPymt' AND inv.type = 'CustInvc'
  AND pay.lastmodifieddate >= TO_TIMESTAMP('<cursor>', 'YYYY-MM-DD HH24:MI:SS')
ORDER BY pay.lastmodifieddate, pay.id, inv.id
```

(``PreviousTransactionLineLink`` with ``linktype = 'Payment'`` and its ``foreignamount`` as
the applied amount are second-hand: NetSuite's Records Catalog is the source to check.) The
order is by a unique key, as the SuiteQL paging docs require. Each page is one batch whose
cursor is the largest ``modified`` on it (pages come in that order); the next run re-reads
from it with ``>=`` and the event ids (one per payment application and modification) make the
re-read rows duplicates. A payment modified after it was read is a new version but the same
``payment_id``: Syncline records a payment once (an edited application is a finance matter).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from syncline.connectors.netsuite.client import NetSuiteClient, quoted
from syncline.connectors.netsuite.mapping import RECORD, application_id, payment_data
from syncline.connectors.netsuite.settings import NetSuiteSettings
from syncline.connectors.sdk.base import Batch
from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import envelope, epoch_ms, record_version_id, refusal

CURSOR_FORMAT = "%Y-%m-%d %H:%M:%S"
ETYPE = "payment.received"


def payments_query(since: str) -> str:
    return (
        "SELECT pay.id AS payment, pay.tranid AS payment_number, "
        "TO_CHAR(pay.trandate, 'YYYY-MM-DD') AS received_on, "
        "TO_CHAR(pay.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS modified, "
        "pay.memo AS memo, inv.id AS invoice, inv.externalid AS invoice_external_id, "
        "link.foreignamount AS amount, cur.symbol AS currency "
        "FROM previoustransactionlinelink link "
        "JOIN transaction pay ON pay.id = link.nextdoc "
        "JOIN transaction inv ON inv.id = link.previousdoc "
        "JOIN currency cur ON cur.id = pay.currency "
        "WHERE link.linktype = 'Payment' AND pay.type = 'CustPymt' AND inv.type = 'CustInvc' "
        f"AND pay.lastmodifieddate >= TO_TIMESTAMP({quoted(since)}, 'YYYY-MM-DD HH24:MI:SS') "
        "ORDER BY pay.lastmodifieddate, pay.id, inv.id")


def normal_cursor(text: str) -> str:
    """``2024-06-01``, ``2024-06-01T10:00:00`` or the stored form → the stored form."""
    value = text.strip().replace("T", " ").rstrip("Z")
    moment = datetime.fromisoformat(value if " " in value else value + " 00:00:00")
    return moment.strftime(CURSOR_FORMAT)


class PaymentsStream:
    name = "payments"
    description = ("customer payments applied to Syncline's invoices (SuiteQL, incremental on "
                   "the payment's lastmodifieddate) → payment.received")

    def __init__(self, client: NetSuiteClient, settings: NetSuiteSettings, source: str) -> None:
        self.client, self.settings, self.source = client, settings, source
        self.zone = ZoneInfo(settings.timezone)

    def read(self, cursor: str | None) -> Iterator[Batch]:
        since = normal_cursor(cursor or self.settings.since)
        for rows in self.client.suiteql(payments_query(since),
                                        page_size=self.settings.page_size):
            batch = Batch(cursor=None)
            for row in rows:
                self._add(batch, row)
                modified = str(row["modified"])
                if batch.cursor is None or modified > batch.cursor:
                    batch.cursor = modified
            yield batch

    def link(self, payment: str) -> str:
        return f"{self.settings.ui_url}/app/accounting/transactions/custpymt.nl?id={payment}"

    def _add(self, batch: Batch, row: dict[str, str]) -> None:
        modified = datetime.strptime(str(row["modified"]), CURSOR_FORMAT).replace(
            tzinfo=self.zone)
        event_id = record_version_id(RECORD, application_id(row), str(row["modified"]))
        try:
            data = payment_data(row, self.link(str(row["payment"])))
        except MappingError as bad:
            batch.refusals.append(refusal(source=self.source, event_id=event_id, record=row,
                                          reason=str(bad), etype=ETYPE))
            return
        batch.events.append(envelope(
            source=self.source, etype=ETYPE, event_id=event_id,
            subject=f"invoice/{data['invoice_number']}", time=modified,
            sequence=epoch_ms(modified), data=data))
