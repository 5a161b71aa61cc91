"""``QboTarget``: Syncline's customers, invoices, credit notes and journals into one QBO company.

``ErpTarget.deliver`` (connectors/erp/target.py) gives exactly once around ``post`` and
``find``; here:

- ``post`` looks the document up by its external id first (QBO does not enforce unique
  DocNumbers by default, so a second outbox row for the same document must not create a
  second one), then creates it with ``requestid`` = the outbox id (a retry of the same row
  gets QBO's stored answer). A customer found is updated in place (sparse, SyncToken).
  Fault 6140 (Duplicate Doc Num, where the company enforces unique numbers) is answered by
  the look-up too.
- ``find``: Customer by the ``[<customer id>]`` suffix of DisplayName (``LIKE '%…'``,
  inactive ones included: QBO keeps names unique across both),
  Invoice / CreditMemo by ``DocNumber`` = the Syncline number, JournalEntry by its derived
  DocNumber, confirmed by ``PrivateNote`` = the source (documents.py says why).
- The QBO customer id of each Syncline customer is cached; an invoice whose customer is not
  at QBO yet fails *retryably* (its ``erp.customer.upsert`` row has not been delivered).
- ``compensate`` of a customer created by a failed provisioning saga makes it inactive
  (QBO does not delete names: ``Active: false``, a SyncToken update).
- ``settle`` applies a credit memo to the invoice it credits: a zero Payment linking both
  (documents.py ``credit_application``), ``requestid`` ``<outbox id>:apply``, for the
  smaller of the memo's ``RemainingCredit`` and the invoice's ``Balance`` as read just
  before — so a second run applies nothing more, and a memo on a paid invoice stays a
  credit on the customer.
- A payload that cannot become a QBO document (unmapped code, A/R journal line, missing
  rate) is ``Refused`` with the reason before anything is sent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncline.connectors.erp.target import ErpTarget
from syncline.connectors.quickbooks import documents
from syncline.connectors.quickbooks.client import (
    DUPLICATE_DOC_NUMBER,
    QboApi,
    quote,
    request_id,
)
from syncline.connectors.quickbooks.settings import QboSettings
from syncline.connectors.sdk.errors import MappingError, VendorError
from syncline.services.messaging.delivery import Refused

Payload = dict[str, Any]


class QboTarget(ErpTarget):
    def __init__(self, name: str, api: QboApi, settings: QboSettings) -> None:
        self.name, self.api, self.settings = name, api, settings
        self.customers: dict[str, str] = {}  # Syncline customer id → QBO Customer Id

    # -- ErpTarget -------------------------------------------------------------------------
    def post(self, kind: str, payload: Payload, idempotency_key: str) -> str:
        entity = payload.get("entity") or payload.get("legal_entity")
        if entity not in self.settings.mapping.entities:
            raise Refused(f"{self.name} posts for {', '.join(self.settings.mapping.entities)}"
                          f", not {entity}")
        try:
            if kind == "erp.customer.upsert":
                return self._customer(payload, idempotency_key)
            if kind == "erp.invoice.post":
                return self._sales_document(payload, idempotency_key)
            return self._journal(payload, idempotency_key)
        except MappingError as bad:
            raise Refused(str(bad)) from None

    def find(self, kind: str, payload: Payload) -> str | None:
        if kind == "erp.customer.upsert":
            found = self._customer_record(str(payload["customer_id"]))
            return None if found is None else str(found["Id"])
        if kind == "erp.invoice.post":
            entity = "CreditMemo" if payload.get("document") == "credit_note" else "Invoice"
            rows = self.api.query(f"select * from {entity} where DocNumber = "
                                  f"{quote(str(payload['number']))}")
            return str(rows[0]["Id"]) if rows else None
        source = str(payload["source"])
        rows = self.api.query("select * from JournalEntry where DocNumber = "
                              + quote(documents.journal_doc_number(source)))
        return next((str(r["Id"]) for r in rows if r.get("PrivateNote") == source), None)

    def settle(self, kind: str, payload: Payload, idempotency_key: str,
               reference: str) -> None:
        """Apply a credit memo to its invoice (what is still unapplied on both)."""
        if kind != "erp.invoice.post" or payload.get("document") != "credit_note" \
                or not payload.get("invoice"):
            return
        memo = self.api.read("CreditMemo", reference)
        rows = self.api.query(f"select * from Invoice where DocNumber = "
                              f"{quote(str(payload['invoice']))}")
        if not rows:
            raise VendorError("quickbooks", f"invoice {payload['invoice']} is not at "
                              "QuickBooks yet: the credit memo is applied once it is",
                              retryable=True)
        invoice = rows[0]
        amount = min(Decimal(str(memo.get("RemainingCredit") or 0)),
                     Decimal(str(invoice.get("Balance") or 0)))
        if amount <= 0:
            return
        try:
            body = documents.credit_application(payload, self.settings,
                                                str(memo["CustomerRef"]["value"]),
                                                str(invoice["Id"]), reference, amount)
        except MappingError as bad:
            raise Refused(str(bad)) from None
        self.api.create("Payment", body, request_id(idempotency_key, ":apply"))

    def compensate(self, kind: str, payload: Payload, idempotency_key: str) -> None:
        if kind != "erp.customer.upsert":
            return None
        found = self.find(kind, payload)
        if found is not None:
            self.api.update("Customer", found, {"Active": False}, idempotency_key + ":undo")
            self.customers.pop(str(payload["customer_id"]), None)
        return None

    # -- documents -------------------------------------------------------------------------
    def _customer_record(self, customer_id: str) -> dict[str, Any] | None:
        rows = self.api.query("select * from Customer where DisplayName LIKE "
                              + quote("%" + documents.customer_tag(customer_id))
                              + " and Active in (true, false)")
        tag = documents.customer_tag(customer_id)
        match = next((r for r in rows if str(r.get("DisplayName", "")).endswith(tag)), None)
        if match is not None:
            self.customers[customer_id] = str(match["Id"])
        return match

    def _customer(self, p: Payload, key: str) -> str:
        customer_id = str(p["customer_id"])
        found = self._customer_record(customer_id)
        if found is None:
            made = self.api.create("Customer", documents.customer(p, self.settings,
                                                                  create=True), key)
            self.customers[customer_id] = str(made["Id"])
            return str(made["Id"])
        changes = documents.customer(p, self.settings, create=False)
        if found.get("Active") is False:  # made inactive by a compensation: active again
            changes["Active"] = True
        if _differs(found, changes):
            self.api.update("Customer", str(found["Id"]), changes, key)
        return str(found["Id"])

    def customer_ref(self, customer_id: str) -> str:
        if customer_id in self.customers:
            return self.customers[customer_id]
        if self._customer_record(customer_id) is None:
            raise VendorError("quickbooks", f"customer {customer_id} is not at QuickBooks "
                              "yet (its erp.customer.upsert is not delivered)", retryable=True)
        return self.customers[customer_id]

    def _sales_document(self, p: Payload, key: str) -> str:
        if not p.get("customer_id"):
            raise Refused(f"document {p.get('number')} names no Syncline customer")
        entity, body = documents.sales_document(p, self.settings,
                                                self.customer_ref(str(p["customer_id"])))
        return self._create_once("erp.invoice.post", p, entity, body, key)

    def _journal(self, p: Payload, key: str) -> str:
        body = documents.journal(p, self.settings)
        return self._create_once("erp.journal.post", p, "JournalEntry", body, key)

    def _create_once(self, kind: str, p: Payload, entity: str, body: Payload,
                     key: str) -> str:
        existing = self.find(kind, p)
        if existing is not None:
            return existing
        try:
            return str(self.api.create(entity, body, key)["Id"])
        except VendorError as err:
            if err.code == DUPLICATE_DOC_NUMBER and (found := self.find(kind, p)):
                return found
            raise


def _differs(found: dict[str, Any], changes: Payload) -> bool:
    """Whether the QBO customer lacks any of ``changes`` (nested refs compared by their
    keys only: QBO adds ``Id``/``name`` to what it stores)."""
    for key, value in changes.items():
        have = found.get(key)
        if isinstance(value, dict):
            if not isinstance(have, dict) or any(have.get(k) != v for k, v in value.items()):
                return True
        elif have != value:
            return True
    return False
