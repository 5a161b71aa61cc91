"""``XeroTarget``: customers, invoices, credit notes and manual journals into Xero, once.

Routing: the payload's legal entity (``entity``; ``legal_entity`` on a customer) picks the
tenant (``tenants`` in the settings); an entity without one is refused. Every write is a
``PUT`` (create) or ``POST`` (update) carrying ``Idempotency-Key`` = the outbox id, so a
retried send is answered with the first response and creates nothing new [spec:
``parameters/idempotencyKey``]; after an unknown outcome ``ErpTarget.deliver`` calls
``find`` (by external id) before the outbox sends again.

External ids at Xero (``find``):
- customer: ``ContactNumber`` = Syncline's customer id (``GET /Contacts?where=
  ContactNumber=="…"``); the id is cached per tenant;
- invoice: ``InvoiceNumber`` = Syncline's number (``GET /Invoices?InvoiceNumbers=…``);
- credit note: ``CreditNoteNumber`` (``GET /CreditNotes?where=CreditNoteNumber=="…"``);
- manual journal: its ``Narration`` (``Syncline <source>``; Xero has no number on a
  journal) by ``where=Narration=="…"`` (filtering on Narration is unconfirmed).

A credit note is then allocated to the invoice it credits (``settle``: ``PUT
/CreditNotes/{id}/Allocations``, key ``<outbox id>:allocate``): the credit note's
``RemainingCredit`` and the invoice's ``AmountDue`` are read first and the smaller is
allocated, so a second run allocates nothing more, and an invoice already paid keeps the
credit on the contact (nothing to allocate). A ``DRAFT`` credit note (``status: draft``) is
not allocated: Xero allocates only approved documents.

An invoice whose customer is not in Xero yet creates the contact first (from the payload's
customer id, name and currency; key ``<outbox id>:contact``). ``compensate`` archives a
contact a failed provisioning saga created (Xero never deletes contacts).
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from syncline.connectors.erp.target import ErpTarget
from syncline.connectors.sdk.errors import MappingError, VendorError
from syncline.connectors.xero import mapping as m
from syncline.connectors.xero.client import VENDOR, XeroApi
from syncline.connectors.xero.settings import XeroSettings
from syncline.services.messaging.delivery import Refused


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _first_id(body: dict[str, Any], key: str, id_field: str) -> str:
    items = body.get(key) or []
    if not items:
        raise VendorError(VENDOR, f"the answer holds no {key}")
    item = items[0]
    problems = [str(v.get("Message")) for v in item.get("ValidationErrors") or []]
    if problems:
        raise VendorError(VENDOR, "; ".join(problems), status=200, code="ValidationException")
    return str(item[id_field])


class XeroTarget(ErpTarget):
    name = "xero"

    def __init__(self, settings: XeroSettings, apis: dict[str, XeroApi],
                 name: str = "xero") -> None:
        self.name = name  # the connector's: refusals and the cross-reference (erp:<name>)
        self.settings, self.apis = settings, apis  # apis: legal entity → its tenant's API
        self._contacts: dict[tuple[str, str], str] = {}
        self._bases: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- routing and state ------------------------------------------------------------------
    def api_for(self, payload: dict[str, Any]) -> XeroApi:
        entity = str(payload.get("entity") or payload.get("legal_entity") or "")
        api = self.apis.get(entity)
        if api is None:
            raise Refused(f"xero: legal entity {entity or '(none)'} has no Xero tenant "
                          f"(tenants: {', '.join(sorted(self.apis))})")
        return api

    def base_currency(self, api: XeroApi) -> str:
        if api.tenant_id not in self._bases:
            orgs = api.get("/Organisation").get("Organisations") or [{}]
            self._bases[api.tenant_id] = str(orgs[0]["BaseCurrency"])
        return self._bases[api.tenant_id]

    def posting(self, api: XeroApi) -> m.Posting:
        s = self.settings
        return m.Posting(mapping=s.mapping, base_currency=self.base_currency(api),
                         status=s.status, journal_status=s.journal_status,
                         tracking=s.tracking, rate_form=s.currency_rate_form)

    # -- ErpTarget --------------------------------------------------------------------------
    def post(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str:
        api = self.api_for(payload)
        try:
            if kind == "erp.customer.upsert":
                return self._upsert_contact(api, payload, idempotency_key)
            if kind == "erp.invoice.post":
                return self._document(api, payload, idempotency_key)
            body = m.journal_body(payload, self.posting(api))
        except MappingError as err:
            raise Refused(str(err)) from None
        answer = api.write("PUT", "/ManualJournals", {"ManualJournals": [body]},
                           idempotency_key)
        return _first_id(answer, "ManualJournals", "ManualJournalID")

    def find(self, kind: str, payload: dict[str, Any]) -> str | None:
        api = self.api_for(payload)
        if kind == "erp.customer.upsert":
            return self.contact_id(api, str(payload["customer_id"]))
        if kind == "erp.invoice.post" and payload.get("document") == "credit_note":
            where = f"CreditNoteNumber=={_quoted(str(payload['number']))}"
            notes = api.get("/CreditNotes", {"where": where}).get("CreditNotes") or []
            return next((str(n["CreditNoteID"]) for n in notes
                         if n.get("Type") == "ACCRECCREDIT"), None)
        if kind == "erp.invoice.post":
            found = api.get("/Invoices", {"InvoiceNumbers": str(payload["number"])})
            return next((str(i["InvoiceID"]) for i in found.get("Invoices") or []
                         if i.get("Type") == "ACCREC"
                         and i.get("InvoiceNumber") == payload["number"]), None)
        where = f"Narration=={_quoted(m.narration(str(payload['source'])))}"
        journals = api.get("/ManualJournals", {"where": where}).get("ManualJournals") or []
        return next((str(j["ManualJournalID"]) for j in journals), None)

    def settle(self, kind: str, payload: dict[str, Any], idempotency_key: str,
               reference: str) -> None:
        """Allocate a credit note to the invoice it credits (what is still unallocated)."""
        if kind != "erp.invoice.post" or payload.get("document") != "credit_note" \
                or not payload.get("invoice") or self.settings.status != "AUTHORISED":
            return
        api = self.api_for(payload)
        where = f"CreditNoteNumber=={_quoted(str(payload['number']))}"
        note = next((n for n in api.get("/CreditNotes", {"where": where}).get("CreditNotes")
                     or [] if str(n.get("CreditNoteID")) == reference), None)
        number = str(payload["invoice"])
        invoice = next((i for i in api.get("/Invoices", {"InvoiceNumbers": number}).get(
            "Invoices") or [] if i.get("Type") == "ACCREC"
            and i.get("InvoiceNumber") == number), None)
        if note is None or invoice is None:
            raise VendorError(VENDOR, f"{'invoice ' + number if invoice is None else reference}"
                              " cannot be read back to allocate the credit", retryable=True)
        amount = min(Decimal(str(note.get("RemainingCredit") or 0)),
                     Decimal(str(invoice.get("AmountDue") or 0)))
        if amount <= 0 or note.get("Status") != "AUTHORISED":
            return
        body = m.allocation_body(str(invoice["InvoiceID"]), amount, str(payload["date"]))
        answer = api.write("PUT", f"/CreditNotes/{reference}/Allocations",
                           {"Allocations": [body]}, f"{idempotency_key}:allocate")
        for made in answer.get("Allocations") or []:
            problems = [str(v.get("Message")) for v in made.get("ValidationErrors") or []]
            if problems:
                raise VendorError(VENDOR, "; ".join(problems), status=200,
                                  code="ValidationException")

    def compensate(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> None:
        """Archive the contact a failed provisioning saga created (Xero keeps contacts)."""
        if kind != "erp.customer.upsert":
            return
        api = self.api_for(payload)
        contact = self.contact_id(api, str(payload["customer_id"]))
        if contact is None:
            return
        api.write("POST", f"/Contacts/{contact}", {"Contacts": [
            {"ContactID": contact, "ContactStatus": "ARCHIVED"}]}, f"{idempotency_key}:undo")
        with self._lock:
            self._contacts.pop((api.tenant_id, str(payload["customer_id"])), None)

    # -- steps ------------------------------------------------------------------------------
    def contact_id(self, api: XeroApi, customer_id: str) -> str | None:
        cached = self._contacts.get((api.tenant_id, customer_id))
        if cached:
            return cached
        found = api.get("/Contacts", {"where": f"ContactNumber=={_quoted(customer_id)}"})
        for contact in found.get("Contacts") or []:
            if contact.get("ContactNumber") == customer_id:
                with self._lock:
                    self._contacts[(api.tenant_id, customer_id)] = str(contact["ContactID"])
                return str(contact["ContactID"])
        return None

    def _upsert_contact(self, api: XeroApi, payload: dict[str, Any], key: str) -> str:
        body = m.contact_body(payload, self.settings.mapping)
        existing = self.contact_id(api, body["ContactNumber"])
        if existing is not None:
            answer = api.write("POST", f"/Contacts/{existing}",
                               {"Contacts": [body | {"ContactID": existing}]}, key)
        else:
            answer = api.write("PUT", "/Contacts", {"Contacts": [body]}, key)
        contact = _first_id(answer, "Contacts", "ContactID")
        with self._lock:
            self._contacts[(api.tenant_id, body["ContactNumber"])] = contact
        return contact

    def _document(self, api: XeroApi, payload: dict[str, Any], key: str) -> str:
        customer_id = payload.get("customer_id")
        if not customer_id:
            raise Refused(f"xero: {payload.get('number')} names no Syncline customer")
        posting = self.posting(api)
        contact = self.contact_id(api, str(customer_id)) or self._upsert_contact(
            api, {"customer_id": customer_id, "name": payload.get("customer"),
                  "currency": payload.get("currency")}, f"{key}:contact")
        if payload.get("document") == "credit_note":
            body = m.credit_note_body(payload, posting, contact)
            answer = api.write("PUT", "/CreditNotes", {"CreditNotes": [body]}, key,
                               params={"unitdp": 4})
            return _first_id(answer, "CreditNotes", "CreditNoteID")
        body = m.invoice_body(payload, posting, contact)
        answer = api.write("PUT", "/Invoices", {"Invoices": [body]}, key, params={"unitdp": 4})
        return _first_id(answer, "Invoices", "InvoiceID")
