"""One fake Xero organisation's books: contacts, invoices, credit notes, manual journals,
payments, and the chart (accounts, tax rates, tracking categories) they are checked against.

Built from the spec's schemas (XeroAPI/Xero-OpenAPI xero_accounting.yaml). A document that
breaks a rule raises ``Invalid`` with Xero's messages (answered 400 ``ValidationException``).
Rules kept: a contact needs a unique Name and a ContactNumber of at most 50; an ``ACCREC``
InvoiceNumber (and an ``ACCRECCREDIT`` CreditNoteNumber) is unique; line AccountCodes and
TaxTypes exist and are ACTIVE; ``AUTHORISED`` needs a DueDate; ``CurrencyRate`` is refused on
a base-currency document (``strict_rates``, the real behaviour is unconfirmed); a manual
journal has a Narration, two or more lines that balance, no system account (``DEBTORS``), no
currency. Amounts are ``Decimal``; dates go out as Xero's ``/Date(ms+0000)/``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

D0 = Decimal(0)


class Invalid(Exception):
    def __init__(self, element: dict[str, Any], *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.element, self.messages = element, messages


def ms_date(ms: int) -> str:
    return f"/Date({ms}+0000)/"


def day_ms(text: str) -> int:
    return int(datetime.combine(date.fromisoformat(str(text)[:10]), datetime.min.time(),
                                UTC).timestamp() * 1000)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0))


class Books:
    def __init__(self, tenant_id: str, base_currency: str, tick: Callable[[], int]) -> None:
        self.tenant_id, self.tick = tenant_id, tick
        self.strict_rates = True
        self.organisation = {"OrganisationID": tenant_id, "Name": f"Org {tenant_id}",
                             "BaseCurrency": base_currency, "OrganisationStatus": "ACTIVE"}
        self.accounts: list[dict[str, Any]] = [
            {"AccountID": str(uuid.uuid4()), "Code": "610", "Name": "Accounts Receivable",
             "Type": "CURRENT", "Status": "ACTIVE", "SystemAccount": "DEBTORS"}]
        self.tax_rates: list[dict[str, Any]] = [
            {"Name": "Tax Exempt", "TaxType": "NONE", "Status": "ACTIVE",
             "EffectiveRate": Decimal("0.0000")}]
        self.tracking: list[dict[str, Any]] = []
        self.records: dict[str, dict[str, dict[str, Any]]] = {
            k: {} for k in ("Contacts", "Invoices", "CreditNotes", "ManualJournals", "Payments")}

    # -- the chart --------------------------------------------------------------------------
    def add_account(self, code: str, name: str, type_: str = "REVENUE",
                    status: str = "ACTIVE") -> None:
        self.accounts.append({"AccountID": str(uuid.uuid4()), "Code": code, "Name": name,
                              "Type": type_, "Status": status})

    def add_tax_rate(self, tax_type: str, rate: str, status: str = "ACTIVE") -> None:
        self.tax_rates.append({"Name": tax_type, "TaxType": tax_type, "Status": status,
                               "EffectiveRate": Decimal(rate)})

    def add_tracking(self, name: str, *options: str) -> None:
        self.tracking.append({"TrackingCategoryID": str(uuid.uuid4()), "Name": name,
                              "Status": "ACTIVE", "Options": [
                                  {"TrackingOptionID": str(uuid.uuid4()), "Name": o,
                                   "Status": "ACTIVE"} for o in options]})

    def _account(self, code: Any) -> dict[str, Any] | None:
        return next((a for a in self.accounts if a["Code"] == code), None)

    # -- writes -----------------------------------------------------------------------------
    def _stamp(self, record: dict[str, Any]) -> dict[str, Any]:
        ms = self.tick()
        record["_updated"] = ms
        record["UpdatedDateUTC"] = ms_date(ms)
        return record

    def contact(self, body: dict[str, Any], contact_id: str | None = None) -> dict[str, Any]:
        existing = self.records["Contacts"].get(contact_id or "")
        if contact_id and existing is None:
            raise Invalid(body, "The document with the supplied id was not found for this "
                          "endpoint.")
        merged = {**(existing or {}), **body}
        problems = []
        if not merged.get("Name"):
            problems.append("The contact name must be specified.")
        if len(str(merged.get("ContactNumber") or "")) > 50:
            problems.append("The Contact Number must not exceed 50 characters.")
        if any(c["Name"] == merged.get("Name") and c["ContactID"] != contact_id
               for c in self.records["Contacts"].values()):
            problems.append(f"The contact name {merged.get('Name')} is already assigned to "
                            "another contact. The contact name must be unique across all "
                            "active contacts.")
        if problems:
            raise Invalid(body, *problems)
        merged.setdefault("ContactID", str(uuid.uuid4()))
        merged.setdefault("ContactStatus", "ACTIVE")
        self.records["Contacts"][merged["ContactID"]] = self._stamp(merged)
        return merged

    def document(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """An invoice (``Invoices``) or credit note (``CreditNotes``), checked and totalled."""
        number_field, id_field = (("InvoiceNumber", "InvoiceID") if kind == "Invoices"
                                  else ("CreditNoteNumber", "CreditNoteID"))
        problems = []
        contact = self.records["Contacts"].get(str((body.get("Contact") or {}).get("ContactID")))
        if contact is None:
            problems.append("A Contact must be specified for this type of transaction")
        number = body.get(number_field)
        if number and any(d.get(number_field) == number and d.get("Type") == body.get("Type")
                          for d in self.records[kind].values()):
            problems.append(f"{'Invoice' if kind == 'Invoices' else 'Credit Note'} # must be "
                            "unique.")
        status = body.get("Status", "DRAFT")
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            problems.append(f"Status {status} cannot be set on a new document.")
        if kind == "Invoices" and status == "AUTHORISED" and not body.get("DueDate"):
            problems.append("Due Date is required.")
        base = self.organisation["BaseCurrency"]
        currency = body.get("CurrencyCode") or base
        if self.strict_rates and currency == base and body.get("CurrencyRate") is not None:
            problems.append("A currency rate cannot be set on a base currency document.")
        subtotal = tax = D0
        for line in body.get("LineItems") or []:
            account = self._account(line.get("AccountCode"))
            if account is None or account["Status"] != "ACTIVE":
                problems.append(f"Account code '{line.get('AccountCode')}' is not a valid code "
                                "for this document.")
            rate = next((r for r in self.tax_rates if r["TaxType"] == line.get("TaxType")),
                        None)
            if line.get("TaxType") and (rate is None or rate["Status"] != "ACTIVE"):
                problems.append(f"The TaxType code '{line.get('TaxType')}' does not exist or "
                                "cannot be used with this type of transaction.")
            amount = _dec(line.get("LineAmount"))
            if line.get("Quantity") is not None and line.get("UnitAmount") is not None and \
                    (_dec(line["Quantity"]) * _dec(line["UnitAmount"])).quantize(
                        Decimal("0.01")) != amount:
                problems.append("The line amount does not equal quantity x unit amount.")
            if rate is not None and line.get("TaxAmount") is None:
                line["TaxAmount"] = (amount * rate["EffectiveRate"] / 100).quantize(
                    Decimal("0.01"))
            subtotal += amount
            tax += _dec(line.get("TaxAmount"))
        if problems:
            raise Invalid(body, *problems)
        assert contact is not None
        total = subtotal + tax
        record = {**body, id_field: str(uuid.uuid4()), "Status": status,
                  "CurrencyCode": currency, "CurrencyRate": _dec(body.get("CurrencyRate") or 1),
                  "Contact": {k: contact.get(k) for k in ("ContactID", "ContactNumber", "Name")},
                  "Date": ms_date(day_ms(body.get("Date") or "2026-01-01")),
                  "SubTotal": subtotal, "TotalTax": tax, "Total": total}
        if kind == "Invoices":
            record |= {"AmountDue": total, "AmountPaid": D0, "AmountCredited": D0}
        else:
            record |= {"RemainingCredit": total}
        if body.get("DueDate"):
            record["DueDate"] = ms_date(day_ms(body["DueDate"]))
        self.records[kind][record[id_field]] = self._stamp(record)
        return record

    def journal(self, body: dict[str, Any]) -> dict[str, Any]:
        problems = []
        if not body.get("Narration"):
            problems.append("Narration is required.")
        lines = body.get("JournalLines") or []
        if len(lines) < 2:
            problems.append("A journal must have at least two lines.")
        if "CurrencyCode" in body:
            problems.append("Manual journals are in the base currency only.")
        for line in lines:
            account = self._account(line.get("AccountCode"))
            if account is None or account["Status"] != "ACTIVE":
                problems.append(f"Account code '{line.get('AccountCode')}' is not valid.")
            elif account.get("SystemAccount"):
                problems.append(f"Account code '{line.get('AccountCode')}' is a system account "
                                "and cannot be used in a manual journal.")
        if sum((_dec(ln.get("LineAmount")) for ln in lines), D0) != 0:
            problems.append("The total debits must equal the total credits.")
        if problems:
            raise Invalid(body, *problems)
        record = {**body, "ManualJournalID": str(uuid.uuid4()),
                  "Status": body.get("Status", "DRAFT")}
        if body.get("Date"):
            record["Date"] = ms_date(day_ms(body["Date"]))
        self.records["ManualJournals"][record["ManualJournalID"]] = self._stamp(record)
        return record

    def allocate(self, credit_note_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Allocate part of an AUTHORISED credit note to an AUTHORISED invoice of the same
        contact and currency (``PUT /CreditNotes/{id}/Allocations``): the invoice's
        ``AmountDue`` and the note's ``RemainingCredit`` fall by ``Amount``; either one at
        zero is ``PAID``. An allocation above either is refused."""
        note = self.records["CreditNotes"].get(credit_note_id)
        invoice = self.records["Invoices"].get(str((body.get("Invoice") or {}).get("InvoiceID")))
        amount = _dec(body.get("Amount"))
        problems = []
        if note is None or note["Status"] != "AUTHORISED":
            problems.append("Only AUTHORISED credit notes with remaining credit can be "
                            "allocated.")
        if invoice is None or invoice["Status"] != "AUTHORISED":
            problems.append("The invoice must be AUTHORISED to allocate a credit note to it.")
        if note is not None and invoice is not None and (
                note["Contact"]["ContactID"] != invoice["Contact"]["ContactID"]
                or note["CurrencyCode"] != invoice["CurrencyCode"]):
            problems.append("The credit note and the invoice must have the same contact and "
                            "currency.")
        if not body.get("Date"):
            problems.append("An allocation needs a Date.")
        if amount <= 0 or (note is not None and amount > note["RemainingCredit"]) or (
                invoice is not None and amount > invoice["AmountDue"]):
            problems.append("The amount allocated must be positive and at most the remaining "
                            "credit and the amount due.")
        if problems:
            raise Invalid(body, *problems)
        assert note is not None and invoice is not None
        invoice["AmountDue"] -= amount
        invoice["AmountCredited"] += amount
        note["RemainingCredit"] -= amount
        for doc, left in ((invoice, invoice["AmountDue"]), (note, note["RemainingCredit"])):
            if left == 0:
                doc["Status"] = "PAID"
            self._stamp(doc)
        made = {"Invoice": {"InvoiceID": invoice["InvoiceID"],
                            "InvoiceNumber": invoice.get("InvoiceNumber")},
                "Amount": amount, "Date": ms_date(day_ms(body["Date"]))}
        note.setdefault("Allocations", []).append(made)
        return made

    # -- payments (recorded by a test, as a person or a bank feed would in Xero) ----------
    def record_payment(self, invoice_number: str, amount: str, on: str,
                       reference: str = "", account_code: str = "090",
                       rate: str | None = None) -> dict[str, Any]:
        """``rate``: the payment's own ``CurrencyRate`` (foreign units per base unit, as the
        invoice's; Xero's Payment schema: "exchange rate when payment is received"), by
        default the invoice's."""
        invoice = next((i for i in self.records["Invoices"].values()
                        if i.get("InvoiceNumber") == invoice_number), None)
        if invoice is None or invoice["Status"] != "AUTHORISED":
            raise ValueError(f"{invoice_number} is not an AUTHORISED invoice in Xero: only "
                             "approved invoices take payments")
        value = Decimal(amount)
        if value > invoice["AmountDue"]:
            raise ValueError("Payment amount exceeds the amount outstanding on this document.")
        invoice["AmountDue"] -= value
        invoice["AmountPaid"] += value
        if invoice["AmountDue"] == 0:
            invoice["Status"] = "PAID"
        self._stamp(invoice)
        payment = {"PaymentID": str(uuid.uuid4()), "Date": ms_date(day_ms(on)),
                   "Amount": value, "BankAmount": value, "Reference": reference,
                   "CurrencyRate": Decimal(rate) if rate else invoice["CurrencyRate"],
                   "PaymentType": "ACCRECPAYMENT",
                   "Status": "AUTHORISED", "IsReconciled": False,
                   "Account": {"Code": account_code},
                   "Invoice": {"Type": "ACCREC", "InvoiceID": invoice["InvoiceID"],
                               "InvoiceNumber": invoice_number, "Contact": invoice["Contact"],
                               "CurrencyCode": invoice["CurrencyCode"]}}
        self.records["Payments"][payment["PaymentID"]] = self._stamp(payment)
        return payment

    def realized_gain(self, payment_id: str) -> Decimal:
        """The realised currency gain (+) or loss (−) Xero books on a payment, in the base
        currency: the payment's amount at its own rate less the same amount at the invoice's
        (both ``Amount ÷ CurrencyRate``, to the cent, half up)."""
        payment = self.records["Payments"][payment_id]
        invoice = self.records["Invoices"][payment["Invoice"]["InvoiceID"]]
        amount = payment["Amount"]

        def base(rate: Decimal) -> Decimal:
            return (amount / rate).quantize(Decimal("0.01"), ROUND_HALF_UP)

        return base(payment["CurrencyRate"]) - base(invoice["CurrencyRate"])

    def delete_payment(self, payment_id: str) -> None:
        payment = self.records["Payments"][payment_id]
        payment["Status"] = "DELETED"
        self._stamp(payment)

    def open_balances(self) -> dict[str, Decimal]:
        """ContactNumber → what the customer owes: AUTHORISED invoices' AmountDue less
        AUTHORISED credit notes' RemainingCredit (drafts are not receivables in Xero). The
        documents' currencies are added up: for a contact billed in one currency only (see
        ``open_balance`` for one per currency)."""
        out: dict[str, Decimal] = {}
        for kind, field, sign in (("Invoices", "AmountDue", 1),
                                  ("CreditNotes", "RemainingCredit", -1)):
            for d in self.records[kind].values():
                if d["Status"] in ("AUTHORISED", "PAID"):
                    key = str(d["Contact"].get("ContactNumber"))
                    out[key] = out.get(key, D0) + sign * d[field]
        return out

    def open_balance(self, contact_number: str) -> dict[str, Decimal]:
        """Per currency, what one contact owes (as ``open_balances``, one currency at a
        time: a contact may be invoiced in several)."""
        out: dict[str, Decimal] = {}
        for kind, field, sign in (("Invoices", "AmountDue", 1),
                                  ("CreditNotes", "RemainingCredit", -1)):
            for d in self.records[kind].values():
                if d["Status"] in ("AUTHORISED", "PAID") and \
                        d["Contact"].get("ContactNumber") == contact_number:
                    cur = str(d["CurrencyCode"])
                    out[cur] = out.get(cur, D0) + sign * d[field]
        return out
