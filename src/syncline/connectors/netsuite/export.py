"""The ``netsuite-csv`` file export: the NetSuite target's record bodies (``records.py``,
the same mapping) written as CSV import files (``ledger/exports/netsuite.py``).

- customers: ``records.customer``; invoices and credit memos: ``records.sales_document``
  with the customer referenced by its External ID = Syncline's customer id (the customers
  file sets it; in the Import Assistant the Customer field is mapped "by External ID");
- summaries: ``records.journal`` (foreign ones carry ``exchangeRate``, home ones none;
  ``approved`` follows ``status``; intercompany lines carry ``eliminate``);
- an amount NetSuite's CSV cannot hold (10 digits + 2 decimals) is an error, never rounded;
  a journal over 10,000 lines is an error (a period summary is by account and dimension).

Without a mapping file: each entity is a subsidiary named as the entity, accounts, items
(the revenue and deferred accounts), tax codes, currencies and segments are Syncline's codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from syncline.connectors.erp import exports as erp
from syncline.connectors.netsuite import records
from syncline.connectors.netsuite import settings as ns
from syncline.connectors.netsuite.settings import NetSuiteSettings
from syncline.ledger.exports.documents import Body, ExportContext, Record, Unexportable
from syncline.ledger.exports.netsuite import MAX_LINES, amount_fits, netsuite_files


class _Builders:
    def __init__(self, settings: NetSuiteSettings) -> None:
        self.s = settings

    def _checked(self, kind: str, body: Body, amounts: Sequence[Any]) -> tuple[str, Body]:
        bad = [a for a in amounts if a is not None and not amount_fits(Decimal(str(a)))]
        if bad:
            raise Unexportable(f"{bad[0]} does not fit NetSuite's 10 digits + 2 decimals")
        return kind, body

    def customer(self, payload: Body) -> tuple[str, Body]:
        try:
            return "customer", records.customer(self.s, payload)
        except records.Unpostable as why:
            raise Unexportable(str(why)) from None

    def document(self, payload: Body) -> tuple[str, Body]:
        kind = "creditMemo" if payload.get("document") == "credit_note" else "invoice"
        missing = self.s.mapping.unmapped("erp.invoice.post", payload)
        if missing:
            raise Unexportable("not mapped for NetSuite: " + ", ".join(missing))
        if not payload.get("customer_id"):
            raise Unexportable("the document names no Syncline customer")
        try:
            body = records.sales_document(self.s, payload, str(payload["customer_id"]))
        except records.Unpostable as why:
            raise Unexportable(str(why)) from None
        items = body["item"]["items"]
        return self._checked(kind, body, [i.get(k) for i in items
                                          for k in ("rate", "amount")])

    def journal(self, payload: Body) -> tuple[str, Body]:
        try:
            body = records.journal(self.s, payload)
        except records.Unpostable as why:
            raise Unexportable(str(why)) from None
        lines = body["line"]["items"]
        if len(lines) > MAX_LINES:
            raise Unexportable(f"{len(lines)} lines: a NetSuite CSV journal holds {MAX_LINES}")
        return self._checked("journalEntry", body, [ln.get(k) for ln in lines
                                                    for k in ("debit", "credit")])


class NetSuiteExport:
    format = "netsuite-csv"
    kind = "netsuite"
    media_type = "text/csv"

    def builders(self, settings: Body | None, context: ExportContext
                 ) -> tuple[_Builders, tuple[str, ...]]:
        notes: tuple[str, ...] = ()
        if settings is None:
            settings, notes = self.default_settings(context), (
                erp.NO_MAPPING.format(vendor="NetSuite"),)
        config = erp.offline_config("netsuite", settings, ns.SECRETS, {"account_id": "EXPORT"})
        parsed = erp.parsed(lambda c: ns.parse(c, erp.PLACEHOLDER_ENV), config)
        return _Builders(parsed), notes

    @staticmethod
    def default_settings(context: ExportContext) -> dict[str, Any]:
        made = erp.base_settings(context, context.entities)
        currencies = {*context.currencies, *(c for _, c in context.entities.values())}
        made |= {"subsidiaries": {code: {"id": name, "currency": currency}
                                  for code, (name, currency) in context.entities.items()},
                 "currencies": erp.identity(currencies),
                 "items": erp.identity([context.revenue_account, context.deferred_account]),
                 "dimension_fields": {"service_line": "class"}}
        return made

    def render(self, records: Sequence[Record]) -> dict[str, str]:
        return netsuite_files(records)
