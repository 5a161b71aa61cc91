"""Outbox payloads → NetSuite REST record bodies (pure: no I/O).

Field ids are the REST record API's (camelCase; reference fields are ``{"id": …}``), as in
NetSuite's own samples: journal entry (section_159886587653: ``subsidiary``, ``line.items[]``
with ``account``/``debit``/``credit``/``memo``), intercompany journal entry
(section_0902090936: ``currency``, ``exchangeRate``, ``approved``, ``toSubsidiary``,
``lineSubsidiary``). Invoice and credit memo bodies follow the same record structure
(``entity``, ``tranDate``, ``dueDate``, ``account`` = the A/R account, ``item.items[]`` with
``item``/``quantity``/``rate``/``amount``/``description``/``taxCode``); their exact sublist
keys are read from the REST API Browser, not confirmed against a live account.

Rules:
- ``externalId`` is Syncline's key (customer id, invoice/credit note number, journal source);
  the upsert URL carries it too (``…/<type>/eid:<externalId>``);
- ``currency`` and ``exchangeRate`` only on a foreign-currency document (one whose currency is
  not the subsidiary's); the rate is NetSuite's: units of the subsidiary's currency per one
  unit of the document's (Syncline's ``fx`` is 1 ``base`` = ``rate`` ``quote``; inverted
  when it is quoted the other way). A home-currency document carries neither;
- a credit note's amounts are negative in the books; the credit memo carries them positive;
- a credit memo is sent without its ``apply`` sublist; ``application`` is the sublist that
  then applies it (at most what the invoice still owes, at most what is left of the credit);
- invoice lines go through the service item mapped to the revenue or the deferred account
  (``deferred: true``), typed with the mapped tax code; the service line becomes the
  configured segment (``class`` by default) when it is mapped;
- journal lines: mapped accounts, ``debit`` or ``credit`` positive, the line's mapped
  dimensions as its segments (as on documents; an unmapped value is left off), and
  ``eliminate`` on an intercompany line (one with a ``counterparty``); ``approved``
  follows the mapping's status (posted → true, draft → false). One currency per journal
  (NetSuite's rule). A summary line's functional amount is not sent: NetSuite converts at
  the journal's ``exchangeRate``, which is the rate the summary's lines imply.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from syncline.connectors.erp.mapping import ErpMapping
from syncline.connectors.netsuite.settings import NetSuiteSettings, Subsidiary

Body = dict[str, Any]
RATE_PLACES = Decimal("1e-10")


class Unpostable(ValueError):
    """A payload this target cannot turn into a NetSuite record (named, for the refusal)."""


def ref(internal_id: str) -> Body:
    return {"id": str(internal_id)}


def subsidiary_of(s: NetSuiteSettings, entity: str) -> Subsidiary:
    sub = s.subsidiaries.get(str(entity))
    if sub is None:
        raise Unpostable(f"entity {entity} has no NetSuite subsidiary in the settings")
    return sub


def exchange_rate(fx: Body | None, currency: str, home: str) -> Decimal | None:
    """NetSuite's ``exchangeRate`` (home units per one document unit), or None when home."""
    if currency == home:
        return None
    if not fx:
        raise Unpostable(f"a {currency} document in a {home} subsidiary needs its exchange "
                         "rate (the payload carries no fx)")
    rate = Decimal(str(fx["rate"]))
    if fx.get("base") == currency and fx.get("quote") == home:
        return rate
    if fx.get("base") == home and fx.get("quote") == currency:
        return (Decimal(1) / rate).quantize(RATE_PLACES, ROUND_HALF_UP)
    raise Unpostable(f"the rate {fx.get('base')}/{fx.get('quote')} does not convert "
                     f"{currency} into {home}")


def _currency(s: NetSuiteSettings, body: Body, currency: str, rate: Decimal | None) -> None:
    if rate is None:
        return
    if currency not in s.currencies:
        raise Unpostable(f"currency {currency} has no NetSuite id in the settings")
    body["currency"] = ref(s.currencies[currency])
    body["exchangeRate"] = rate


def _segments(s: NetSuiteSettings, body: Body, values: dict[str, Any]) -> None:
    for dimension, segment in s.dimension_fields.items():
        code = values.get(dimension)
        mapped = s.mapping.dimensions.get(dimension, {}).get(str(code)) if code else None
        if mapped:
            body[segment] = ref(mapped)


def customer(s: NetSuiteSettings, payload: Body) -> Body:
    sub = subsidiary_of(s, payload["legal_entity"])
    body: Body = {"externalId": str(payload["customer_id"]), "companyName": payload["name"],
                  "isPerson": False, "subsidiary": ref(sub.id)}
    currency = payload.get("currency")
    if currency:
        if currency not in s.currencies:
            raise Unpostable(f"currency {currency} has no NetSuite id in the settings")
        body["currency"] = ref(s.currencies[currency])
    return body


def sales_document(s: NetSuiteSettings, payload: Body, customer_id: str) -> Body:
    """An invoice or (with positive amounts) a credit memo. A credit memo carries no
    ``apply`` sublist: it is applied once it is at NetSuite (``application``)."""
    m: ErpMapping = s.mapping
    sub = subsidiary_of(s, payload["entity"])
    currency = str(payload["currency"])
    credit = payload.get("document") == "credit_note"
    tax = m.tax_code(str(payload["tax_code"])) if payload.get("tax_code") else None
    if payload.get("tax_code") and tax is None:
        raise Unpostable(f"tax code {payload['tax_code']} is not mapped")
    items = []
    for line in payload["lines"]:
        account = m.line_account(payload.get("service_line"), bool(line.get("deferred")))
        item = s.items.get(account)
        if item is None:
            raise Unpostable(f"no service item for account {account}")
        row: Body = {"item": ref(item), "description": str(line["description"])[:4000],
                     "quantity": _positive(line["quantity"], credit),
                     "rate": _positive(line["unit_price"], credit),
                     "amount": _positive(line["amount"], credit)}
        if tax:
            row["taxCode"] = ref(tax)
        items.append(row)
    body: Body = {"externalId": str(payload["number"]), "entity": ref(customer_id),
                  "subsidiary": ref(sub.id), "tranDate": payload["date"],
                  "memo": _memo(payload), "item": {"items": items}}
    if payload.get("due") and not credit:
        body["dueDate"] = payload["due"]
    ar = m.ar_accounts.get(currency)
    if ar:
        body["account"] = ref(ar)
    _currency(s, body, currency, exchange_rate(payload.get("fx"), currency, sub.currency))
    _segments(s, body, payload)
    return body


def _positive(value: Any, credit: bool) -> Decimal:
    """A credit note's negative quantity and amount (as in the books) become positive on the
    credit memo; an invoice's values go as they are."""
    number = Decimal(str(value))
    return abs(number) if credit else number


def _memo(payload: Body) -> str:
    parts = [f"Syncline {payload.get('document', 'invoice')} {payload['number']}"]
    if payload.get("invoice"):
        parts.append(f"credits {payload['invoice']}")
    if payload.get("contract"):
        parts.append(f"contract {payload['contract']}")
    if payload.get("period"):
        parts.append(f"period {payload['period']}")
    return ", ".join(parts)[:999]


def applied_line(memo: Body, invoice_id: str) -> Decimal:
    """What a credit memo (read with its sublists expanded) applies to one invoice now."""
    return sum((Decimal(str(line.get("amount") or 0)) for line in _apply_lines(memo)
                if str((line.get("doc") or {}).get("id")) == str(invoice_id)), Decimal(0))


def application(credit: Decimal, memo: Body, invoice_id: str,
                remaining: Decimal) -> Body | None:
    """The ``apply`` sublist that applies what is left of a credit memo to its invoice, or
    None when nothing more can be applied.

    ``credit`` is the memo's total (positive), ``memo`` the memo as NetSuite holds it (its
    ``apply.items[]`` with ``doc``, ``apply``, ``amount``), ``remaining`` the invoice's
    ``amountRemaining``. What can still be applied is the smaller of the credit not yet
    applied (to any invoice) and what the invoice still owes; the line of this invoice is
    set to what it applies already plus that: an absolute amount, so sending it twice
    changes nothing, and a memo already applied, or an invoice paid meanwhile, gives None
    (the rest stays a credit on the customer)."""
    unapplied = credit - sum((Decimal(str(line.get("amount") or 0))
                              for line in _apply_lines(memo)), Decimal(0))
    more = min(unapplied, remaining)
    if more <= 0:
        return None
    amount = applied_line(memo, invoice_id) + more
    return {"apply": {"items": [{"doc": ref(invoice_id), "apply": True, "amount": amount}]}}


def _apply_lines(memo: Body) -> list[Body]:
    """The applied lines of a memo's ``apply`` sublist (an applicable sublist lists open
    invoices too, with ``apply: false``)."""
    apply = memo.get("apply")
    if apply is None:
        return []
    if "items" not in apply:
        raise Unpostable("the credit memo was read without its apply sublist "
                         "(expandSubResources)")
    return [line for line in apply["items"] or [] if line.get("apply")]


def line_dimensions(rest: list[Any]) -> dict[str, Any]:
    """The dimensions of a summary journal line (``[…, {"dimensions": [[name, value]]}]``
    after the currency and, for a foreign line, its functional amount)."""
    for extra in rest:
        if isinstance(extra, dict):
            return {str(k): v for k, v in extra.get("dimensions", [])}
    return {}


def journal(s: NetSuiteSettings, payload: Body) -> Body:
    m = s.mapping
    sub = subsidiary_of(s, payload["entity"])
    currencies = {str(line[3]) for line in payload["lines"]}
    if len(currencies) != 1:
        raise Unpostable(f"journal {payload['source']} has lines in {sorted(currencies)}: a "
                         "NetSuite journal entry has one currency")
    currency = currencies.pop()
    lines = []
    for account, side, amount, _, *rest in payload["lines"]:
        mapped = m.account(str(account))
        if mapped is None:
            raise Unpostable(f"account {account} is not mapped")
        value = Decimal(str(amount))
        if value == 0:
            continue
        if side not in ("debit", "credit"):
            raise Unpostable(f"journal line side {side!r}")
        row: Body = {"account": ref(mapped), side: value,
                     "memo": str(payload.get("memo") or payload["source"])[:999]}
        dims = line_dimensions(rest)
        _segments(s, row, dims)
        if dims.get("counterparty"):  # an intercompany line: eliminated on consolidation
            row["eliminate"] = True
        lines.append(row)
    body: Body = {"externalId": str(payload["source"]), "subsidiary": ref(sub.id),
                  "approved": m.status == "posted", "memo": str(payload["source"])[:999],
                  "line": {"items": lines}}
    if payload.get("date"):
        body["tranDate"] = payload["date"]
    _currency(s, body, currency, exchange_rate(payload.get("fx"), currency, sub.currency))
    return body
