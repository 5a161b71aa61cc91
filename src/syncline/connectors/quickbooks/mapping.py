"""PURE: a QBO Payment → ``payment.received`` data, one per invoice it pays (no I/O).

A QBO Payment (``CustomerRef``, ``TotalAmt``, ``TxnDate``, ``CurrencyRef``,
``PaymentRefNum``, ``Line[{Amount, LinkedTxn[{TxnId, TxnType}]}]``) applies cash to one or
more invoices (and may apply credit memos, which are not cash). For each line linked to an
Invoice whose DocNumber is a Syncline number (it starts with one of ``prefixes``, by default
``<entity>-``):

- ``payment_id`` = ``<Payment Id>/<Invoice Id>`` (one QBO payment paying two invoices is two
  applications; Syncline stores each once);
- ``invoice_number`` = the invoice's DocNumber; ``amount`` = the line's Amount in the
  payment's currency (``CurrencyRef``, else the home currency; QBO pays an invoice in its own
  currency); ``received_on`` = ``TxnDate``; ``reference`` = ``PaymentRefNum`` or
  ``QBO Payment <Id>``.

A payment that applies credit memos is not all cash: one whose ``TotalAmt`` is 0 only
applies credit (Syncline's own credit notes are applied that way, target.py ``settle``) and
gives nothing; one that applies credit and cash to a single invoice gives that invoice's
line less the credit; credit and cash over several invoices is refused (which invoice the
cash paid is not in the payment). Unapplied amounts and invoices that are not Syncline's are
skipped (they are not Syncline's receivables); a deleted payment (CDC ``status: Deleted``)
is skipped too (un-applying a payment is left to finance). A payment without an Id, a
TxnDate or a positive amount on a Syncline line is a ``MappingError`` naming it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from syncline.connectors.sdk.errors import MappingError

RECORD = "Payment"


def link(realm_id: str, payment_id: str) -> str:
    return f"https://app.qbo.intuit.com/app/recvpayment?txnId={payment_id}&companyId={realm_id}"


def is_deleted(payment: dict[str, Any]) -> bool:
    return str(payment.get("status", "")).lower() == "deleted"


def linked_invoices(payment: dict[str, Any]) -> list[str]:
    return [str(t.get("TxnId")) for ln in payment.get("Line") or []
            for t in ln.get("LinkedTxn") or [] if t.get("TxnType") == "Invoice"]


def applications(payment: dict[str, Any], doc_numbers: dict[str, str],
                 prefixes: tuple[str, ...], home_currency: str,
                 realm_id: str) -> list[dict[str, Any]]:
    """The ``payment.received`` data of every Syncline invoice this payment pays."""
    pid = str(payment.get("Id") or "")
    if not pid:
        raise MappingError("quickbooks", RECORD, "(no Id)", "a payment without an Id")
    where = link(realm_id, pid)
    if not payment.get("TxnDate"):
        raise MappingError("quickbooks", RECORD, pid, "no TxnDate", where)
    currency = str((payment.get("CurrencyRef") or {}).get("value") or home_currency)
    credit = _credit_applied(payment, pid, where)
    if credit and _amount(payment.get("TotalAmt", 0), pid, where) == 0:
        return []  # a credit memo applied to an invoice: no cash moved
    if credit and len(linked_invoices(payment)) != 1:
        raise MappingError("quickbooks", RECORD, pid, "applies credit memos and cash to "
                           "several invoices: record it in Syncline by hand", where)
    out: list[dict[str, Any]] = []
    for line in payment.get("Line") or []:
        for txn in line.get("LinkedTxn") or []:
            number = doc_numbers.get(str(txn.get("TxnId")))
            if txn.get("TxnType") != "Invoice" or not number or \
                    not number.startswith(prefixes):
                continue
            amount = _amount(line.get("Amount"), pid, where) - credit
            if amount <= 0:
                raise MappingError("quickbooks", RECORD, pid, f"the amount applied to "
                                   f"invoice {number} is {amount}, not positive", where)
            out.append({
                "payment_id": f"{pid}/{txn['TxnId']}", "invoice_number": number,
                "amount": {"amount": str(amount), "currency": currency},
                "received_on": str(payment["TxnDate"])[:10],
                "reference": str(payment.get("PaymentRefNum") or f"QBO Payment {pid}")[:200]})
    return out


def _amount(value: Any, pid: str, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MappingError("quickbooks", RECORD, pid, f"amount {value!r} is not a number",
                           where) from None


def _credit_applied(payment: dict[str, Any], pid: str, where: str) -> Decimal:
    """The credit memos' amounts this payment applies (not cash)."""
    return sum((_amount(ln.get("Amount"), pid, where) for ln in payment.get("Line") or []
                if any(t.get("TxnType") == "CreditMemo" for t in ln.get("LinkedTxn") or [])),
               Decimal(0))
