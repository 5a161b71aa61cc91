"""Syncline's outbox payloads → Xero documents, and Xero payments → ``payment.received``.

Pure: dicts in, dicts out; a payload that cannot be posted raises ``MappingError`` naming
what is missing (the target turns it into ``Refused``: a finance exception, nothing sent).
Field names are the spec's [XeroAPI/Xero-OpenAPI xero_accounting.yaml, schemas ``Contact``,
``Invoice``, ``LineItem``, ``LineItemTracking``, ``CreditNote``, ``ManualJournal``,
``ManualJournalLine``, ``Payment``].

Rules:
- Amounts are decimal strings with 2 places (unit amounts up to 4: ``unitdp=4``). Lines are
  tax exclusive (``LineAmountTypes: Exclusive``); Syncline taxes the document, so its tax is
  split over the lines in proportion to their amounts (half up, the last taxed line takes the
  remainder) and sent as each line's ``TaxAmount`` (Xero lets it be overridden), so Xero's
  total is Syncline's total to the cent. No tax code → ``NoTax``.
- A credit note's amounts are negative in the books and positive on Xero's ``ACCRECCREDIT``.
- ``CurrencyCode`` and ``CurrencyRate`` only when the document's currency is not the
  organisation's base currency (then the payload's ``fx`` is required). Syncline's ``fx``
  says 1 ``base`` = ``rate`` ``quote``; Xero's ``CurrencyRate`` is read as foreign units per
  one base unit (``foreign_per_base``, the convention of Xero's own examples: a NZD
  organisation's USD invoice at 0.75) — unconfirmed, switchable (``currency_rate_form``).
  Xero keeps 6 decimal places of a rate.
- Manual journals have no currency in Xero (base currency only): a line in another
  currency is converted at the journal's rate (``fx``, required then) to 2 places, half up;
  a rounding residual goes to the largest line so the journal still balances, and the line
  description says so. Debits are positive ``LineAmount``, credits negative. A summary
  line's dimensions become its ``Tracking`` by the same rule as document lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from syncline.connectors.erp.mapping import ErpMapping
from syncline.connectors.sdk.errors import MappingError

CENT, UNIT, RATE = Decimal("0.01"), Decimal("0.0001"), Decimal("0.000001")
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


@dataclass(frozen=True)
class Posting:
    """How this target posts: statuses, tracking categories, the base currency, rate form."""

    mapping: ErpMapping
    base_currency: str
    status: str = "AUTHORISED"
    journal_status: str = "POSTED"
    tracking: dict[str, str] = field(default_factory=dict)
    rate_form: str = "foreign_per_base"


def cents(value: Any) -> Decimal:
    """Money to 2 places, half up (sent as a JSON number, never a float: client.encode)."""
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def xero_time(text: str) -> datetime:
    """``/Date(1543449600000+0000)/`` (Xero's JSON dates) or ISO 8601, as UTC."""
    m = _MS_DATE.fullmatch(str(text).strip())
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def xero_date(text: str) -> date:
    return xero_time(text).date()


def contact_body(payload: dict[str, Any], mapping: ErpMapping) -> dict[str, Any]:
    """A Contact keyed by ``ContactNumber`` = Syncline's customer id (max 50 characters)."""
    number = str(payload["customer_id"])
    if len(number) > 50:
        raise MappingError("xero", "Contact", number, "ContactNumber is at most 50 characters")
    body: dict[str, Any] = {"Name": str(payload.get("name") or number), "ContactNumber": number}
    if payload.get("currency"):
        body["DefaultCurrency"] = str(payload["currency"])
    tax = mapping.tax_code(str(payload.get("tax_profile") or ""))
    if tax:
        body["AccountsReceivableTaxType"] = tax
    return body


def base_per_foreign(fx: dict[str, Any] | None, currency: str, base: str, ref: str) -> Decimal:
    """Units of ``base`` for one unit of ``currency``, from Syncline's ``fx`` snapshot."""
    if not fx:
        raise MappingError("xero", "document", ref, f"{currency} is not the organisation's "
                           f"base currency {base}: the payload carries no exchange rate (fx)")
    rate = Decimal(str(fx["rate"]))
    if fx.get("base") == currency and fx.get("quote") == base:
        return rate
    if fx.get("base") == base and fx.get("quote") == currency:
        return 1 / rate
    raise MappingError("xero", "document", ref, f"the rate {fx.get('base')}/{fx.get('quote')} "
                       f"does not convert {currency} to {base}")


def currency_fields(payload: dict[str, Any], posting: Posting, ref: str) -> dict[str, Any]:
    currency = str(payload["currency"])
    if currency == posting.base_currency:
        return {}
    r = base_per_foreign(payload.get("fx"), currency, posting.base_currency, ref)
    xero_rate = (1 / r if posting.rate_form == "foreign_per_base" else r).quantize(RATE)
    return {"CurrencyCode": currency, "CurrencyRate": xero_rate}


def _split_tax(tax: Decimal, amounts: list[Decimal]) -> list[Decimal]:
    total = sum(amounts, Decimal(0))
    if not amounts:
        return []
    if total == 0:
        return [Decimal(0)] * (len(amounts) - 1) + [tax]
    shares = [(tax * a / total).quantize(CENT, ROUND_HALF_UP) for a in amounts]
    last = max(i for i, a in enumerate(amounts) if a != 0)
    shares[last] += tax - sum(shares, Decimal(0))
    return shares


def _tracking(payload: dict[str, Any], posting: Posting, ref: str) -> list[dict[str, str]]:
    out = []
    for dim, category in sorted(posting.tracking.items()):
        value = payload.get(dim)
        if value is None:
            continue
        option = posting.mapping.dimensions.get(dim, {}).get(str(value))
        if option is None:
            raise MappingError("xero", "document", ref, f"{dim} {value} has no tracking option "
                               f"in the mapping (dimensions.{dim})")
        out.append({"Name": category, "Option": option})
    return out[:2]  # Xero: at most 2 tracking categories a line


def _lines(payload: dict[str, Any], posting: Posting, ref: str, sign: Decimal
           ) -> tuple[str, list[dict[str, Any]]]:
    m = posting.mapping
    code = payload.get("tax_code")
    tax_type = m.tax_code(str(code)) if code else None
    if code and tax_type is None:
        raise MappingError("xero", "document", ref, f"tax code {code} is not mapped (tax_codes)")
    tracking = _tracking(payload, posting, ref)
    amounts = [sign * Decimal(str(ln["amount"])) for ln in payload["lines"]]
    taxes = _split_tax(sign * Decimal(str(payload.get("tax") or 0)), amounts)
    lines = []
    for ln, amount, tax in zip(payload["lines"], amounts, taxes, strict=True):
        syncline_account = m.line_account(payload.get("service_line"), bool(ln.get("deferred")))
        account = m.account(syncline_account)
        if account is None:
            raise MappingError("xero", "document", ref,
                               f"account {syncline_account} is not mapped (accounts)")
        line: dict[str, Any] = {
            "Description": str(ln.get("description") or "-"),
            "Quantity": Decimal(str(ln["quantity"])),
            "UnitAmount": (sign * Decimal(str(ln["unit_price"]))).quantize(UNIT),
            "LineAmount": cents(amount), "AccountCode": account}
        if tax_type:
            line["TaxType"], line["TaxAmount"] = tax_type, cents(tax)
        if tracking:
            line["Tracking"] = tracking
        lines.append(line)
    return ("Exclusive" if tax_type else "NoTax"), lines


def invoice_body(payload: dict[str, Any], posting: Posting, contact_id: str) -> dict[str, Any]:
    """An ``ACCREC`` invoice, ``InvoiceNumber`` = Syncline's number."""
    ref = str(payload["number"])
    amount_types, lines = _lines(payload, posting, ref, Decimal(1))
    body: dict[str, Any] = {
        "Type": "ACCREC", "Contact": {"ContactID": contact_id}, "InvoiceNumber": ref,
        "Reference": str(payload.get("contract") or ""), "Date": payload["date"],
        "DueDate": payload.get("due") or payload["date"], "LineAmountTypes": amount_types,
        "Status": posting.status, "LineItems": lines}
    return body | currency_fields(payload, posting, ref)


def credit_note_body(payload: dict[str, Any], posting: Posting, contact_id: str
                     ) -> dict[str, Any]:
    """An ``ACCRECCREDIT`` credit note, positive amounts, ``CreditNoteNumber`` = Syncline's
    number, ``Reference`` = the credited invoice."""
    ref = str(payload["number"])
    amount_types, lines = _lines(payload, posting, ref, Decimal(-1))
    body: dict[str, Any] = {
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "CreditNoteNumber": ref,
        "Reference": str(payload.get("invoice") or ""), "Date": payload["date"],
        "LineAmountTypes": amount_types, "Status": posting.status, "LineItems": lines}
    return body | currency_fields(payload, posting, ref)


def allocation_body(invoice_id: str, amount: Decimal, on: str) -> dict[str, Any]:
    """One ``Allocation`` of a credit note to an invoice, for ``PUT /CreditNotes/{CreditNoteID}
    /Allocations`` [spec: path ``/CreditNotes/{CreditNoteID}/Allocations``, schema
    ``Allocation``: ``Invoice`` (its ``InvoiceID``), ``Amount``, ``Date``]."""
    return {"Invoice": {"InvoiceID": invoice_id}, "Amount": cents(amount), "Date": on}


def narration(source: str) -> str:
    """A manual journal's ``Narration``: Xero has no external id on a journal, so the
    narration carries the Syncline source and ``find`` looks it up exactly."""
    return f"Syncline {source}"


def _line_dimensions(rest: list[Any]) -> dict[str, Any]:
    """A summary line's dimensions (its trailing ``{"dimensions": [[name, value]]}``)."""
    for extra in rest:
        if isinstance(extra, dict):
            return {str(k): v for k, v in extra.get("dimensions", [])}
    return {}


def journal_body(payload: dict[str, Any], posting: Posting) -> dict[str, Any]:
    source = str(payload["source"])
    lines: list[dict[str, Any]] = []
    converted = False
    for account, side, amount, currency, *rest in payload["lines"]:
        code = posting.mapping.account(str(account))
        if code is None:
            raise MappingError("xero", "ManualJournal", source,
                               f"account {account} is not mapped (accounts)")
        value = Decimal(str(amount)) * (1 if side == "debit" else -1)
        description = source
        if currency != posting.base_currency:
            r = base_per_foreign(payload.get("fx"), str(currency), posting.base_currency,
                                 source)
            description += f" ({cents(abs(value))} {currency} at {r} {posting.base_currency})"
            value, converted = value * r, True
        line: dict[str, Any] = {"LineAmount": value.quantize(CENT, ROUND_HALF_UP),
                                "AccountCode": code, "Description": description}
        tracking = _tracking(_line_dimensions(rest), posting, source)
        if tracking:
            line["Tracking"] = tracking
        lines.append(line)
    if len(lines) < 2:
        raise MappingError("xero", "ManualJournal", source, "a journal needs two lines")
    residual = -sum((ln["LineAmount"] for ln in lines), Decimal(0))
    if residual and converted:
        largest = max(lines, key=lambda ln: abs(ln["LineAmount"]))
        largest["LineAmount"] += residual
        largest["Description"] += f" (rounding {cents(residual)})"
    elif residual:
        raise MappingError("xero", "ManualJournal", source,
                           f"the journal does not balance (off by {cents(residual)})")
    for ln in lines:
        ln["LineAmount"] = cents(ln["LineAmount"])
    body: dict[str, Any] = {"Narration": narration(source), "Status": posting.journal_status,
                            "LineAmountTypes": "NoTax", "JournalLines": lines}
    if payload.get("date"):
        body["Date"] = str(payload["date"])
    return body


def payment_data(payment: dict[str, Any], is_ours: Any) -> dict[str, Any] | None:
    """``payment.received`` data for a payment on one of Syncline's ``ACCREC`` invoices;
    ``None`` for anything else (a bill payment, a credit note refund, an invoice raised in
    Xero by hand). ``is_ours(number)`` says whether an invoice number is Syncline's. A
    deleted payment is refused: Syncline cannot take a payment back by itself."""
    pid = str(payment.get("PaymentID") or "")
    invoice = payment.get("Invoice") or {}
    number = invoice.get("InvoiceNumber")
    if payment.get("PaymentType", "ACCRECPAYMENT") != "ACCRECPAYMENT" or \
            invoice.get("Type") != "ACCREC" or not number or not is_ours(str(number)):
        return None
    if payment.get("Status") == "DELETED":
        raise MappingError("xero", "Payment", pid, f"the payment on {number} was deleted in "
                           "Xero: reverse its receipt in Syncline by hand")
    currency = invoice.get("CurrencyCode")
    if not currency:
        raise MappingError("xero", "Payment", pid, "the invoice carries no CurrencyCode")
    amount = Decimal(str(payment.get("Amount") or 0))
    if amount <= 0:
        raise MappingError("xero", "Payment", pid, f"amount {amount} is not positive")
    data: dict[str, Any] = {
        "payment_id": pid, "invoice_number": str(number),
        "amount": {"amount": str(cents(amount)), "currency": str(currency)},
        "received_on": xero_date(str(payment["Date"])).isoformat()}
    if payment.get("Reference"):
        data["reference"] = str(payment["Reference"])[:200]
    return data
