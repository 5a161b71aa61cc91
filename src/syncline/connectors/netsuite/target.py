"""``NetSuiteTarget``: customers, invoices, credit memos and journal entries, once each.

NetSuite's idempotency mechanism is the upsert by external id (help "Using the Upsert
Operation", section_156335203191): ``PUT /services/rest/record/v1/<type>/eid:<externalId>``
creates the record, or updates the one that already carries that external id; it never makes
a second. The external id is Syncline's key of the document (``erp/target.py``
``external_id``), so the same outbox message sent twice — or a message sent again after a
dropped connection — lands on the same record. The outbox id itself has no place at NetSuite
(no idempotency header is documented for synchronous requests) and is not sent.

The answer is 204 with a ``Location`` header ending in the internal id; when the header is
absent the record is looked up by external id (SuiteQL), which is also ``find``:
``SELECT id FROM customer|transaction WHERE externalid = '…'`` (with the transaction
``type``: ``CustInvc``, ``CustCred``, ``Journal``).

A credit memo is applied to the invoice it credits once it is at NetSuite (``settle``), as
Xero and QBO do it: the invoice (found by its external id) must be at NetSuite first (the
credit memo waits, transient, until it is). ``settle`` reads the vendor's state first:

- the invoice, ``GET …/invoice/<id>``: its ``amountRemaining`` (help "Use Case for
  Retrieving an Invoice", section_0210111448, whose sample answer carries ``amountPaid`` and
  ``amountRemaining``; the REST client in_netsuite maps ``amountRemaining`` to SuiteQL's
  ``foreignAmountUnpaid``, invite-networks/in-netsuite ``models/invoice.py``);
- the memo, ``GET …/creditMemo/<id>?expandSubResources=true`` (sublists are links unless
  expanded: help "Format of Sublists and Subrecords", section_1545141947): what its
  ``apply`` sublist applies already;

and applies the smaller of the credit still unapplied and what the invoice still owes, with
``PATCH …/creditMemo/<id>`` of the one ``apply`` line of that invoice (help "Updating a
Sublist", section_1545295601: a keyed sublist's line with the same key is updated, the
others are kept). The line's amount is absolute (what it applied already plus the rest), so
a retry or a replay after any failure reads the state again and sends nothing more; an
invoice paid in full meanwhile gets nothing and the credit stays open on the customer. No
idempotency header exists for synchronous requests: the read state is the key. The memo's
own upsert carries no ``apply`` sublist, so re-sending it leaves its application as it is
(an upsert of an existing record is an update: omitted fields are unchanged, help
"Updating a Record Instance", section_1545142173).

Invoices name the customer by its internal id, found by the Syncline customer id (its external
id) and cached; a customer NetSuite does not hold yet makes the invoice wait (a transient
failure: the provisioning saga's customer upsert comes first). ``compensate`` deletes a
customer a failed provisioning created (``DELETE …/customer/eid:<id>``; gone already is fine).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from syncline.connectors.erp.target import ErpTarget, external_id
from syncline.connectors.netsuite import records
from syncline.connectors.netsuite.client import RECORD, VENDOR, NetSuiteClient, quoted
from syncline.connectors.netsuite.settings import NetSuiteSettings
from syncline.connectors.sdk.errors import VendorError
from syncline.connectors.sdk.http import json_decimal
from syncline.services.messaging.delivery import Refused, TransientFailure

TRANSACTION_TYPES = {"invoice": "CustInvc", "creditMemo": "CustCred",
                     "journalEntry": "Journal"}


def record_type(kind: str, payload: dict[str, Any]) -> str:
    if kind == "erp.customer.upsert":
        return "customer"
    if kind == "erp.invoice.post":
        return "creditMemo" if payload.get("document") == "credit_note" else "invoice"
    if kind == "erp.journal.post":
        return "journalEntry"
    raise Refused(f"NetSuite takes no {kind}")


def eid_path(rtype: str, key: str) -> str:
    return f"{RECORD}/{rtype}/eid:{quote(key, safe='')}"


class NetSuiteTarget(ErpTarget):
    def __init__(self, name: str, client: NetSuiteClient, settings: NetSuiteSettings) -> None:
        self.name = name
        self.client, self.settings = client, settings
        self.customers: dict[str, str] = {}  # Syncline customer id → NetSuite internal id
        self.invoices: dict[str, str] = {}  # Syncline invoice number → NetSuite internal id

    # -- ErpTarget --------------------------------------------------------------------------
    def post(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str:
        rtype = record_type(kind, payload)
        missing = self.settings.mapping.unmapped(kind, payload)
        if missing:
            raise Refused(f"{external_id(kind, payload)}: not mapped for NetSuite: "
                          + ", ".join(missing))
        try:
            body = self._body(kind, rtype, payload)
        except records.Unpostable as why:
            raise Refused(f"{external_id(kind, payload)}: {why}") from None
        key = external_id(kind, payload)
        response = self.client.send_json("PUT", eid_path(rtype, key), body)
        internal = _id_from_location(response.headers.get("Location"))
        if internal is None:
            internal = self.find(kind, payload)
            if internal is None:
                raise TransientFailure(f"NetSuite accepted {rtype} {key} but it cannot be "
                                       "found by its external id yet")
        if rtype == "customer":
            self.customers[key] = internal
        return internal

    def find(self, kind: str, payload: dict[str, Any]) -> str | None:
        rtype = record_type(kind, payload)
        key = external_id(kind, payload)
        if rtype == "customer":
            return self.customer_id(key)
        query = (f"SELECT id FROM transaction WHERE type = {quoted(TRANSACTION_TYPES[rtype])} "
                 f"AND externalid = {quoted(key)}")
        return _first_id(self.client.suiteql(query, page_size=2))

    def settle(self, kind: str, payload: dict[str, Any], idempotency_key: str,
               reference: str) -> None:
        """Apply a credit memo to the invoice it credits: what is left of the credit, no more
        than the invoice still owes (module docstring)."""
        if record_type(kind, payload) != "creditMemo" or not payload.get("invoice"):
            return
        number = str(payload["invoice"])
        invoice = self.invoice_id(number)
        if invoice is None:
            raise VendorError(VENDOR, f"invoice {number} cannot be found to apply "
                              f"{payload['number']} to it", retryable=True)
        memo = self._read("creditMemo", reference, expand=True)
        owed = self._read("invoice", invoice).get("amountRemaining")
        if owed is None:
            raise VendorError(VENDOR, f"invoice {number} was read without its "
                              "amountRemaining", retryable=False)
        try:
            patch = records.application(abs(Decimal(str(payload["total"]))), memo, invoice,
                                        Decimal(str(owed)))
        except records.Unpostable as why:
            raise VendorError(VENDOR, f"{payload['number']}: {why}", retryable=False) \
                from None
        if patch is not None:
            self.client.send_json("PATCH", f"{RECORD}/creditMemo/{reference}", patch)

    def compensate(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> None:
        if kind != "erp.customer.upsert":
            return None
        key = external_id(kind, payload)
        try:
            self.client.request("DELETE", eid_path("customer", key))
        except VendorError as failed:
            if failed.status != 404:
                raise
        self.customers.pop(key, None)
        return None

    # -- helpers ----------------------------------------------------------------------------
    def customer_id(self, syncline_id: str) -> str | None:
        if syncline_id not in self.customers:
            query = f"SELECT id FROM customer WHERE externalid = {quoted(syncline_id)}"
            found = _first_id(self.client.suiteql(query, page_size=2))
            if found is None:
                return None
            self.customers[syncline_id] = found
        return self.customers[syncline_id]

    def invoice_id(self, number: str) -> str | None:
        if number not in self.invoices:
            found = self.find("erp.invoice.post", {"document": "invoice", "number": number})
            if found is None:
                return None
            self.invoices[number] = found
        return self.invoices[number]

    def _read(self, rtype: str, internal: str, *, expand: bool = False) -> dict[str, Any]:
        params = {"expandSubResources": "true"} if expand else None
        body = json_decimal(self.client.request("GET", f"{RECORD}/{rtype}/{internal}",
                                                params=params))
        return body if isinstance(body, dict) else {}

    def _body(self, kind: str, rtype: str, payload: dict[str, Any]) -> dict[str, Any]:
        if rtype == "customer":
            return records.customer(self.settings, payload)
        if rtype == "journalEntry":
            return records.journal(self.settings, payload)
        who = payload.get("customer_id")
        if not who:
            raise records.Unpostable("the document names no Syncline customer")
        internal = self.customer_id(str(who))
        if internal is None:
            raise TransientFailure(f"customer {who} is not at NetSuite yet: "
                                   f"{payload['number']} waits for its upsert")
        if rtype == "creditMemo" and payload.get("invoice") \
                and self.invoice_id(str(payload["invoice"])) is None:
            raise TransientFailure(f"invoice {payload['invoice']} is not at NetSuite yet: "
                                   f"{payload['number']} waits to be applied to it")
        return records.sales_document(self.settings, payload, internal)


def _id_from_location(location: str | None) -> str | None:
    if not location:
        return None
    last = location.rstrip("/").rsplit("/", 1)[-1]
    return last if last.isdigit() else None


def _first_id(pages: Any) -> str | None:
    for rows in pages:
        for row in rows:
            return str(row["id"])
    return None
