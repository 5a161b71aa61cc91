"""The ``xero`` file export: the Xero target's bodies (``mapping.py``, the same mapping), as
``{entity: {"Contacts": {"Contacts": […]}, "Invoices": {"Invoices": […]}, "CreditNotes":
{"CreditNotes": […]}, "ManualJournals": {"ManualJournals": […]}}}`` — each the body of
``PUT /api.xro/2.0/<kind>`` in that entity's organisation (``?unitdp=4`` for documents).

- Contacts keyed by ``ContactNumber`` = Syncline's customer id; invoices (``ACCREC``) and
  credit notes (``ACCRECCREDIT``) name their contact by ``ContactID`` when the
  cross-reference (or the mapping's ``customers``) holds it, else by ``Name`` — the contact's
  name exactly as the contacts body gives it, so Xero matches it (Xero contact names are
  unique in an organisation). Receivables are Xero's own (one per currency, from the
  documents); a document in the organisation's base currency carries no rate, a foreign
  one ``CurrencyCode`` and ``CurrencyRate``.
- Status follows the mapping's ``status``: ``posted`` → ``AUTHORISED`` documents and
  ``POSTED`` journals, ``draft`` → ``DRAFT`` (both).
- The organisation's base currency is the entity's functional currency (a file export does
  not read ``/Organisation``; the target does).
Without a mapping file: each entity is its own organisation; account codes, tax types
and tracking options are Syncline's codes (tracking: service line).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from syncline.connectors.erp import exports as erp
from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.xero import mapping as xero
from syncline.connectors.xero import settings as xs
from syncline.connectors.xero.settings import XeroSettings
from syncline.ledger.exports.documents import (
    Body,
    ExportContext,
    Record,
    Unexportable,
    records_json,
)

SECRETS = ("client_secret",)
CONNECTION = {"client_id": "EXPORT", "grant": "client_credentials"}


class _Builders:
    def __init__(self, settings: XeroSettings, context: ExportContext,
                 contacts: dict[str, str]) -> None:
        self.s, self.context, self.contacts = settings, context, contacts

    def _posting(self, entity: str) -> xero.Posting:
        if entity not in self.s.mapping.entities:
            raise Unexportable(f"entity {entity} has no Xero organisation in the mapping "
                               f"({', '.join(self.s.mapping.entities)})")
        base = self.context.entities[entity][1]
        return xero.Posting(mapping=self.s.mapping, base_currency=base, status=self.s.status,
                            journal_status=self.s.journal_status, tracking=self.s.tracking,
                            rate_form=self.s.currency_rate_form)

    def customer(self, payload: Body) -> tuple[str, Body]:
        self._posting(str(payload["legal_entity"]))
        try:
            return "Contacts", xero.contact_body(payload, self.s.mapping)
        except MappingError as why:
            raise Unexportable(why.reason) from None

    def document(self, payload: Body) -> tuple[str, Body]:
        posting = self._posting(str(payload["entity"]))
        who = str(payload.get("customer_id") or "")
        known = self.contacts.get(who)
        try:
            if payload.get("document") == "credit_note":
                kind, body = "CreditNotes", xero.credit_note_body(payload, posting, known or "")
            else:
                kind, body = "Invoices", xero.invoice_body(payload, posting, known or "")
        except MappingError as why:
            raise Unexportable(why.reason) from None
        if not known:
            body["Contact"] = {"Name": str(payload.get("customer") or who)}
        return kind, body

    def journal(self, payload: Body) -> tuple[str, Body]:
        try:
            return "ManualJournals", xero.journal_body(payload,
                                                       self._posting(str(payload["entity"])))
        except MappingError as why:
            raise Unexportable(why.reason) from None


class XeroExport:
    format = "xero"
    kind = "xero"
    media_type = "application/json"

    def builders(self, settings: Body | None, context: ExportContext
                 ) -> tuple[_Builders, tuple[str, ...]]:
        notes: tuple[str, ...] = ()
        contacts: dict[str, str] = {}
        if settings is None:
            settings, notes = self.default_settings(context), (
                erp.NO_MAPPING.format(vendor="Xero"),)
        else:
            contacts = erp.customer_ids(settings, context)
            settings = {k: v for k, v in settings.items()
                        if k not in ("refresh_token", "token_store", "webhook_key")}
        config = erp.offline_config("xero", settings, SECRETS, CONNECTION)
        config.settings["grant"] = "client_credentials"  # no token needed offline
        parsed = erp.parsed(lambda c: xs.parse(c, erp.PLACEHOLDER_ENV), config)
        return _Builders(parsed, context, contacts), notes

    @staticmethod
    def default_settings(context: ExportContext) -> dict[str, Any]:
        return erp.base_settings(context, context.entities) | {
            "tenants": {e: "EXPORT" for e in context.entities},
            "tracking": {"service_line": "Service line"}}

    def render(self, records: Sequence[Record]) -> dict[str, str]:
        return {"xero.json": records_json(records, wrap=True)}
