"""The ``qbo`` file export: the QuickBooks Online target's request bodies (``documents.py``,
the same mapping), as ``{entity: {"Customer": […], "Invoice": […], "CreditMemo": […],
"JournalEntry": […]}}`` — each body is what ``POST /v3/company/<realm>/<entity>`` takes.

QBO keeps receivables itself: invoices and credit memos carry them (A/R per currency is
QBO's own, one per foreign currency), and a summary journal with a line on an A/R account
is refused, as the target refuses it (QBO needs a customer on A/R lines). ``CustomerRef``
is QBO's customer id, from the cross-reference of the connector (customers it created) or
the mapping's ``customers``; a document whose customer has no QBO id yet is an error
(import the Customers first, then give their ids). A QBO company is one legal entity: a
mapping file posts for its ``entities``; without one, each entity is its own company with
its functional currency as home currency and Syncline's codes and ids (``tax_model:
global``, so the tax code is Syncline's).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from syncline.connectors.erp import exports as erp
from syncline.connectors.quickbooks import documents
from syncline.connectors.quickbooks import settings as qbo
from syncline.connectors.quickbooks.settings import QboSettings
from syncline.connectors.sdk.errors import MappingError
from syncline.ledger.exports.documents import (
    Body,
    ExportContext,
    Record,
    Unexportable,
    records_json,
)

SECRETS = ("client_secret", "refresh_token")
CONNECTION = {"realm_id": "EXPORT", "client_id": "EXPORT", "token_store": "unused.json"}


class _Builders:
    def __init__(self, companies: dict[str, QboSettings], customers: dict[str, str],
                 by_syncline_id: bool) -> None:
        self.companies, self.customers = companies, customers
        self.by_syncline_id = by_syncline_id

    def _company(self, entity: str) -> QboSettings:
        company = self.companies.get(entity)
        if company is None:
            raise Unexportable(f"entity {entity} is not among the QuickBooks mapping's "
                               f"entities ({', '.join(sorted(self.companies))})")
        return company

    def customer(self, payload: Body) -> tuple[str, Body]:
        s = self._company(str(payload["legal_entity"]))
        return "Customer", documents.customer(payload, s, create=True)

    def document(self, payload: Body) -> tuple[str, Body]:
        s = self._company(str(payload["entity"]))
        who = str(payload.get("customer_id") or "")
        ref = who if self.by_syncline_id else self.customers.get(who)
        if not ref:
            raise Unexportable(f"customer {who or '(none)'} has no QuickBooks id: import the "
                               "Customers, then give their ids (customers: in the mapping) "
                               "or let the target create them")
        try:
            return documents.sales_document(payload, s, ref)
        except (MappingError, KeyError) as why:
            raise Unexportable(_reason(why)) from None

    def journal(self, payload: Body) -> tuple[str, Body]:
        s = self._company(str(payload["entity"]))
        try:
            return "JournalEntry", documents.journal(payload, s)
        except MappingError as why:
            raise Unexportable(_reason(why)) from None


def _reason(why: Exception) -> str:
    if isinstance(why, KeyError):
        return f"no QuickBooks Item for account {why.args[0]} (items)"
    return str(getattr(why, "reason", why))


class QboExport:
    format = "qbo"
    kind = "quickbooks"
    media_type = "application/json"

    def builders(self, settings: Body | None, context: ExportContext
                 ) -> tuple[_Builders, tuple[str, ...]]:
        if settings is None:
            companies = {e: self._parse(self.default_settings(context, e))
                         for e in context.entities}
            return _Builders(companies, {}, True), (erp.NO_MAPPING.format(vendor="QuickBooks"),)
        s = self._parse(settings)
        return _Builders({e: s for e in s.mapping.entities},
                         erp.customer_ids(settings, context), False), ()

    @staticmethod
    def _parse(settings: dict[str, Any]) -> QboSettings:
        config = erp.offline_config("quickbooks", settings, SECRETS, CONNECTION)
        return erp.parsed(lambda c: qbo.parse(c, erp.PLACEHOLDER_ENV, Path(".")), config)

    @staticmethod
    def default_settings(context: ExportContext, entity: str) -> dict[str, Any]:
        return erp.base_settings(context, [entity]) | {
            "home_currency": context.entities[entity][1], "tax_model": "global",
            "items": erp.identity([context.revenue_account, context.deferred_account]),
            "receivable_accounts": [context.receivable_account]}

    def render(self, records: Sequence[Record]) -> dict[str, str]:
        return {"qbo.json": records_json(records)}
