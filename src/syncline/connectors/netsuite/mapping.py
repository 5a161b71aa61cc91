"""NetSuite payment applications → ``payment.received`` data (pure: no I/O).

One row per (customer payment, invoice it is applied to), from the SuiteQL read in
``streams.py``: ``payment`` (internal id), ``payment_number`` (tranid), ``received_on``
(the payment's trandate, ``YYYY-MM-DD``), ``modified`` (lastmodifieddate), ``memo``,
``invoice`` (internal id), ``invoice_external_id`` (Syncline's invoice number: the external
id the target set), ``amount`` (the applied amount in the transaction currency,
``foreignamount``) and ``currency`` (ISO symbol).

- ``payment_id`` is ``<payment id>:<invoice id>``: one payment applied to two invoices is two
  payments to Syncline, each recorded once;
- ``reference`` is the payment's number, with its memo when there is one;
- an application to an invoice NetSuite holds without an external id (not Syncline's) is
  refused naming the payment and the invoice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncline.connectors.sdk.errors import MappingError

VENDOR = "netsuite"
RECORD = "customerPayment"


def application_id(row: dict[str, Any]) -> str:
    return f"{row['payment']}:{row['invoice']}"


def payment_data(row: dict[str, Any], link: str | None = None) -> dict[str, Any]:
    number = str(row.get("invoice_external_id") or "").strip()
    if not number:
        raise MappingError(VENDOR, RECORD, str(row.get("payment")), f"applied to NetSuite "
                           f"invoice {row.get('invoice')}, which has no external id (not an "
                           "invoice Syncline posted)", link)
    amount = Decimal(str(row["amount"]))
    reference = str(row.get("payment_number") or row["payment"])
    if row.get("memo"):
        reference = f"{reference} {row['memo']}"
    return {"payment_id": application_id(row), "invoice_number": number,
            "amount": {"amount": format(amount, "f"), "currency": str(row["currency"])},
            "received_on": str(row["received_on"])[:10], "reference": reference[:200]}
