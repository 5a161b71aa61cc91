"""PURE: Syncline outbox payloads → QuickBooks Online request bodies (no I/O).

- **Customer** (``erp.customer.upsert``): ``DisplayName = "<name> [<Syncline customer id>]"``.
  QBO has no external-id field on Customer, and DisplayName is both *queryable* and
  *unique* across customers, vendors and employees, so two Syncline customers both named
  "Acme Corp" must differ there anyway (else Fault 6240 Duplicate Name Exists). The bracketed
  id is the external id: ``find`` matches the suffix, so a rename still finds the customer.
  ``CompanyName`` carries the plain name (it prints on the invoice); ``BillAddr.Country``;
  ``CurrencyRef`` only for a foreign-currency customer (QBO fixes a customer's currency at
  creation); tax: ``Taxable`` (automated sales tax) or ``DefaultTaxCodeRef`` (global).
- **Invoice / CreditMemo** (``erp.invoice.post``): ``DocNumber`` = the Syncline number (the
  external id; ≤ 21 characters), ``TxnDate``, ``DueDate`` (invoice), ``CustomerRef``, one
  ``SalesItemLineDetail`` line per Syncline line with the Item of its account (revenue or,
  ``deferred: true``, the deferred account), ``Qty``/``UnitPrice`` when they multiply to the
  amount exactly, ``TaxCodeRef`` (the mapped code) and ``ClassRef`` (the mapped dimension).
  A credit note's negative amounts are sent positive. Foreign documents only: ``CurrencyRef``
  + ``ExchangeRate`` (home-currency units per 1 foreign unit). Tax: ``TxnTaxDetail.TotalTax``
  = Syncline's tax when it is not zero (global model: with ``TxnTaxCodeRef`` and
  ``GlobalTaxCalculation: TaxExcluded``).
- **JournalEntry** (``erp.journal.post``): balanced ``JournalEntryLineDetail`` lines
  (``PostingType`` Debit/Credit, ``AccountRef`` mapped, a summary line's dimensions as
  ``ClassRef``/``DepartmentRef`` by the same rule as documents), ``PrivateNote`` = the source (the
  external id) and ``DocNumber`` = ``SL-`` + 18 characters of its SHA-256 (DocNumber is the
  one filterable text field and holds 21 characters). Lines on an A/R account are refused:
  QBO needs a customer (``Entity``) on every A/R line and the journal has none — receivables
  travel on the invoice and credit memo documents (and QBO's own Payments).
"""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

from syncline.connectors.quickbooks.settings import QboSettings
from syncline.connectors.sdk.errors import MappingError

DOC_NUMBER_MAX = 21
RATE_PLACES = Decimal("0.0000000001")
Body = dict[str, Any]


def _refuse(kind: str, key: str, reason: str) -> MappingError:
    return MappingError("quickbooks", kind, key, reason)


def _money(text: Any, kind: str, key: str) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        raise _refuse(kind, key, f"{text!r} is not a decimal amount") from None


def display_name(name: str, customer_id: str) -> str:
    clean = " ".join(str(name).replace(":", " ").split())  # no colon, tab or newline
    return f"{clean[:400]} {customer_tag(customer_id)}"


def customer_tag(customer_id: str) -> str:
    return f"[{customer_id}]"


def journal_doc_number(source: str) -> str:
    digest = base64.b32encode(hashlib.sha256(source.encode()).digest()).decode()
    return "SL-" + digest[:DOC_NUMBER_MAX - 3]


def customer(p: Body, s: QboSettings, *, create: bool) -> Body:
    body: Body = {"DisplayName": display_name(p["name"], p["customer_id"]),
                  "CompanyName": str(p["name"])[:100]}
    if p.get("country"):
        body["BillAddr"] = {"Country": str(p["country"])}
    if create and p.get("currency") and p["currency"] != s.home_currency:
        body["CurrencyRef"] = {"value": p["currency"]}
    tax = s.mapping.tax_code(str(p.get("tax_profile") or ""))
    if tax is not None:
        if s.tax_model == "automated_sales_tax":
            body["Taxable"] = tax == "TAX"
        else:
            body["DefaultTaxCodeRef"] = {"value": tax}
    return body


def exchange_rate(p: Body, s: QboSettings) -> Decimal | None:
    """QBO's ExchangeRate (home units per 1 document unit) from the payload's ``fx`` (1 base =
    rate quote); None for a home-currency document, which must carry no rate."""
    currency, fx, kind, key = p["currency"], p.get("fx"), "document", str(p.get("number"))
    if currency == s.home_currency:
        return None
    if not fx:
        raise _refuse(kind, key, f"a {currency} document in a {s.home_currency} company "
                      "needs its exchange rate and the payload carries none")
    rate = _money(fx["rate"], kind, key)
    if fx["base"] == currency and fx["quote"] == s.home_currency and rate > 0:
        return rate
    if fx["base"] == s.home_currency and fx["quote"] == currency and rate > 0:
        return (Decimal(1) / rate).quantize(RATE_PLACES)
    raise _refuse(kind, key, f"rate {fx['base']}/{fx['quote']} does not convert {currency} "
                  f"to {s.home_currency}")


def sales_document(p: Body, s: QboSettings, customer_ref: str) -> tuple[str, Body]:
    """``("Invoice" | "CreditMemo", body)`` for an ``erp.invoice.post`` payload."""
    entity = "CreditMemo" if p.get("document") == "credit_note" else "Invoice"
    number, m = str(p["number"]), s.mapping
    if len(number) > DOC_NUMBER_MAX:
        raise _refuse(entity, number, f"DocNumber holds {DOC_NUMBER_MAX} characters")
    sign = Decimal(-1) if entity == "CreditMemo" else Decimal(1)
    tax = m.tax_code(str(p.get("tax_code") or "")) if p.get("tax_code") else None
    if p.get("tax_code") and tax is None:
        raise _refuse(entity, number, f"tax code {p['tax_code']} is not mapped")
    cls = _dimension(p, s, "Class")
    lines = []
    for ln in p["lines"]:
        account = m.line_account(p.get("service_line"), bool(ln.get("deferred")))
        amount = sign * _money(ln["amount"], entity, number)
        detail: Body = {"ItemRef": {"value": s.items[account]}}
        qty, price = (sign * _money(ln.get("quantity", "0"), entity, number),
                      _money(ln.get("unit_price", "0"), entity, number))
        if qty and qty * price == amount:
            detail |= {"Qty": qty, "UnitPrice": price}
        if tax is not None:
            detail["TaxCodeRef"] = {"value": tax}
        if cls is not None:
            detail["ClassRef"] = {"value": cls}
        lines.append({"DetailType": "SalesItemLineDetail", "Amount": amount,
                      "Description": str(ln.get("description", ""))[:4000],
                      "SalesItemLineDetail": detail})
    body: Body = {"DocNumber": number, "TxnDate": p["date"], "CustomerRef":
                  {"value": customer_ref}, "Line": lines,
                  "PrivateNote": _note(p, entity)}
    if entity == "Invoice" and p.get("due"):
        body["DueDate"] = p["due"]
    dept = _dimension(p, s, "Department")
    if dept is not None:
        body["DepartmentRef"] = {"value": dept}
    rate = exchange_rate(p, s)
    if rate is not None:
        body |= {"CurrencyRef": {"value": p["currency"]}, "ExchangeRate": rate}
    total_tax = sign * _money(p.get("tax", "0"), entity, number)
    if s.tax_model == "global":
        body["GlobalTaxCalculation"] = "TaxExcluded"
        if tax is not None:
            body["TxnTaxDetail"] = {"TxnTaxCodeRef": {"value": tax}, "TotalTax": total_tax}
    elif total_tax:
        body["TxnTaxDetail"] = {"TotalTax": total_tax}
    return entity, body


def credit_application(p: Body, s: QboSettings, customer_ref: str, invoice_id: str,
                       memo_id: str, amount: Decimal) -> Body:
    """A zero Payment that applies a credit memo to the invoice it credits: one line linked
    to the Invoice and one to the CreditMemo, each ``amount``, ``TotalAmt`` 0 — how Intuit
    documents applying a credit memo through the API (Payment ``Line[].LinkedTxn``
    [reference connectors.md §6.3 shows the Invoice link; the CreditMemo ``TxnType`` and a
    zero ``TotalAmt`` are Intuit's Payment reference, not in our research notes]). A foreign
    document's payment carries the document's ``CurrencyRef`` and ``ExchangeRate``."""
    body: Body = {"CustomerRef": {"value": customer_ref}, "TotalAmt": Decimal("0.00"),
                  "TxnDate": p["date"], "Line": [
                      {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id,
                                                        "TxnType": "Invoice"}]},
                      {"Amount": amount, "LinkedTxn": [{"TxnId": memo_id,
                                                        "TxnType": "CreditMemo"}]}]}
    rate = exchange_rate(p, s)
    if rate is not None:
        body |= {"CurrencyRef": {"value": p["currency"]}, "ExchangeRate": rate}
    return body


def _note(p: Body, entity: str) -> str:
    if entity == "CreditMemo":
        return f"Syncline credit note {p['number']} on invoice {p.get('invoice')}"
    return f"Syncline invoice {p['number']}, contract {p.get('contract')}"


def _dimension(p: Body, s: QboSettings, target: str) -> str | None:
    """The Class/Department id of the document's dimension value. A dimension the mapping
    does not configure at all is not tracked in QBO (as ``validate`` reads it): nothing is
    sent; a value missing from a configured dimension is refused."""
    for dim, where in s.dimension_targets.items():
        values = s.mapping.dimensions.get(dim)
        if where == target and p.get(dim) and values:
            found = values.get(str(p[dim]))
            if found is None:
                raise _refuse("document", str(p.get("number")),
                              f"{dim} {p[dim]} is not mapped to a QBO {target}")
            return found
    return None


def _line_dimensions(rest: list[Any]) -> Body:
    """A summary line's dimensions (its trailing ``{"dimensions": [[name, value]]}``)."""
    for extra in rest:
        if isinstance(extra, dict):
            return {str(k): v for k, v in extra.get("dimensions", [])}
    return {}


def journal(p: Body, s: QboSettings) -> Body:
    source = str(p["source"])
    debit = credit = Decimal(0)
    currencies = {str(ln[3]) for ln in p["lines"]}
    lines = []
    for account, side, amount_text, _currency, *rest in p["lines"]:
        code, amount = str(account), _money(amount_text, "JournalEntry", source)
        if code in s.receivable_accounts or s.mapping.account(code) in \
                set(s.mapping.ar_accounts.values()):
            raise _refuse("JournalEntry", source, f"line on receivable account {code}: QBO "
                          "needs a customer on A/R lines; receivables travel on invoices, "
                          "credit memos and payments")
        target = s.mapping.account(code)
        if target is None:
            raise _refuse("JournalEntry", source, f"account {code} is not mapped")
        debit += amount if side == "debit" else 0
        credit += amount if side == "credit" else 0
        detail: Body = {"PostingType": "Debit" if side == "debit" else "Credit",
                        "AccountRef": {"value": target}}
        dims = {"number": source, **_line_dimensions(rest)}
        for where in ("Class", "Department"):
            found = _dimension(dims, s, where)
            if found is not None:
                detail[f"{where}Ref"] = {"value": found}
        lines.append({"DetailType": "JournalEntryLineDetail", "Amount": amount,
                      "Description": source[:4000], "JournalEntryLineDetail": detail})
    if debit != credit:
        raise _refuse("JournalEntry", source, f"debits {debit} ≠ credits {credit}")
    if len(currencies) != 1:
        raise _refuse("JournalEntry", source, "lines in more than one currency")
    body: Body = {"DocNumber": journal_doc_number(source), "PrivateNote": source,
                  "Line": lines}
    if p.get("date"):
        body["TxnDate"] = p["date"]
    currency = currencies.pop()
    rate = exchange_rate({"currency": currency, "fx": p.get("fx"), "number": source}, s)
    if rate is not None:
        body |= {"CurrencyRef": {"value": currency}, "ExchangeRate": rate}
    return body
