"""The fake NetSuite's records: reference tables, upserted records, payments, balances.

An upsert checks what NetSuite would refuse: a reference (subsidiary, currency, entity,
account, item, tax code, A/R account, segment) that does not exist or is inactive
(``INVALID_KEY_OR_REF``); a journal whose debits and credits differ, or an invoice without
item lines (``USER_ERROR``). Amounts are kept as ``Decimal``. Tax is the tax code's ``rate``
(a percentage) on each line, half-up to the cent; an invoice's total is lines + tax.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Row = dict[str, Any]
CENT = Decimal("0.01")
REFERENCE_TABLES = ("subsidiary", "currency", "account", "salestaxitem", "item",
                    "classification", "department", "location")
TYPES = {"invoice": "CustInvc", "creditMemo": "CustCred", "journalEntry": "Journal",
         "customerPayment": "CustPymt"}


class Refusal(ValueError):
    def __init__(self, code: str, detail: str, path: str | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.path = code, detail, path


@dataclass
class Books:
    tables: dict[str, dict[str, Row]] = field(
        default_factory=lambda: {t: {} for t in (*REFERENCE_TABLES, "customer", "transaction")})
    records: dict[str, dict[str, Row]] = field(default_factory=dict)  # type → id → body
    applications: list[Row] = field(default_factory=list)
    next_id: int = 100
    clock: str = "2026-07-01 09:00:00"

    def seed(self, table: str, internal_id: str, **columns: Any) -> None:
        self.tables[table][str(internal_id)] = {"id": str(internal_id), "isinactive": "F",
                                                **columns}

    def by_external(self, rtype: str, external: str) -> str | None:
        for internal, body in self.records.get(rtype, {}).items():
            if body.get("externalId") == external:
                return internal
        return None

    # -- writes -------------------------------------------------------------------------------
    def upsert(self, rtype: str, external: str, body: Row) -> tuple[str, bool]:
        """Create the record, or update the one with this external id: the fields the body
        omits are kept (an update; help section_1545142173)."""
        if body.get("externalId", external) != external:
            raise Refusal("INVALID_FLD_VALUE", "externalId differs from the eid in the URL",
                          "externalId")
        internal = self.by_external(rtype, external)
        created = internal is None
        if internal is not None:
            body = {**self.records[rtype][internal], **body}
        self._check(rtype, body)
        if internal is None:
            internal = str(self.next_id)
            self.next_id += 1
        stored = {**body, "externalId": external, "id": internal}
        self.records.setdefault(rtype, {})[internal] = stored
        self._index(rtype, internal, stored)
        return internal, created

    def patch(self, rtype: str, internal: str, body: Row) -> None:
        """An update: body fields replace theirs; ``apply`` lines replace the line of the
        same ``doc`` and the others are added (a keyed sublist, help section_1545295601)."""
        stored = self.records[rtype][internal]
        merged = {**stored, **{k: v for k, v in body.items() if k != "apply"}}
        if "apply" in body:
            lines = {str(ln["doc"]["id"]): ln for ln in (stored.get("apply") or {}).get(
                "items") or []}
            for line in (body["apply"] or {}).get("items") or []:
                lines[str((line.get("doc") or {}).get("id"))] = line
            merged["apply"] = {"items": list(lines.values())}
        self._check(rtype, merged)
        self.records[rtype][internal] = merged

    def read(self, rtype: str, internal: str, *, expand: bool, url: str) -> Row:
        """A GET's answer: sublists as links unless expanded; an invoice with what it was
        paid and what it still owes."""
        body = dict(self.records[rtype][internal])
        for sublist in ("item", "line", "apply"):
            if sublist in body and not expand:
                body[sublist] = {"links": [{"rel": "self", "href": f"{url}/{sublist}"}]}
        if rtype == "invoice":
            remaining = self.amount_remaining(internal)
            body["amountPaid"] = self.total(self.records[rtype][internal]) - remaining
            body["amountRemaining"] = remaining
        return body

    def delete(self, rtype: str, external: str) -> bool:
        internal = self.by_external(rtype, external)
        if internal is None:
            return False
        del self.records[rtype][internal]
        table = "customer" if rtype == "customer" else "transaction"
        self.tables[table].pop(internal, None)
        return True

    def _index(self, rtype: str, internal: str, body: Row) -> None:
        if rtype == "customer":
            self.tables["customer"][internal] = {"id": internal, "isinactive": "F",
                                                 "externalid": body["externalId"],
                                                 "companyname": body.get("companyName")}
        else:
            self.tables["transaction"][internal] = {
                "id": internal, "type": TYPES[rtype], "externalid": body["externalId"],
                "tranid": body.get("tranId") or f"{TYPES[rtype]}{internal}"}

    def _ref(self, table: str, value: Any, path: str) -> Row:
        internal = str((value or {}).get("id", "")) if isinstance(value, dict) else ""
        row = self.tables[table].get(internal)
        if row is None or row.get("isinactive") == "T":
            raise Refusal("INVALID_KEY_OR_REF",
                          f"Invalid {path} reference key {internal or '(none)'}.", path)
        return row

    def _check(self, rtype: str, body: Row) -> None:
        self._ref("subsidiary", body.get("subsidiary"), "subsidiary")
        if "currency" in body:
            self._ref("currency", body["currency"], "currency")
        if rtype == "customer":
            return
        for segment, table in (("class", "classification"), ("department", "department"),
                               ("location", "location")):
            if segment in body:
                self._ref(table, body[segment], segment)
        if rtype == "journalEntry":
            lines = (body.get("line") or {}).get("items") or []
            for n, line in enumerate(lines):
                self._ref("account", line.get("account"), f"line.items[{n}].account")
            debit = sum((Decimal(str(ln.get("debit", 0))) for ln in lines), Decimal(0))
            credit = sum((Decimal(str(ln.get("credit", 0))) for ln in lines), Decimal(0))
            if len(lines) < 2 or debit != credit:
                raise Refusal("USER_ERROR", "The transaction is not in balance (debits "
                              f"{debit}, credits {credit}).", "line")
            return
        if str((body.get("entity") or {}).get("id")) not in self.tables["customer"]:
            raise Refusal("INVALID_KEY_OR_REF", "Invalid entity reference key.", "entity")
        if "account" in body:
            self._ref("account", body["account"], "account")
        items = (body.get("item") or {}).get("items") or []
        if not items:
            raise Refusal("USER_ERROR", "You must enter at least one line item for this "
                          "transaction.", "item")
        for n, line in enumerate(items):
            self._ref("item", line.get("item"), f"item.items[{n}].item")
            if "taxCode" in line:
                self._ref("salestaxitem", line["taxCode"], f"item.items[{n}].taxCode")
        if rtype == "creditMemo":
            self._check_apply(body)

    def _check_apply(self, body: Row) -> None:
        """A credit memo's ``apply`` sublist: each applied line names an invoice of the same
        customer and applies no more than that invoice still owes (less what other credit
        memos and payments applied: an upsert replaces this memo's own earlier apply), and
        all of them together no more than the memo's total."""
        used = Decimal(0)
        for n, line in enumerate((body.get("apply") or {}).get("items") or []):
            if not line.get("apply"):
                continue
            path = f"apply.items[{n}]"
            invoice = self.records.get("invoice", {}).get(str((line.get("doc") or {}).get("id")))
            if invoice is None or invoice["entity"] != body["entity"]:
                raise Refusal("INVALID_KEY_OR_REF", f"Invalid {path}.doc reference key.",
                              f"{path}.doc")
            amount = Decimal(str(line.get("amount", 0)))
            if amount <= 0 or amount > self.amount_remaining(invoice["id"],
                                                             but=body.get("externalId")):
                raise Refusal("USER_ERROR", f"The amount applied ({amount}) is more than "
                              "the amount due on the invoice.", f"{path}.amount")
            used += amount
        if used > self.total(body):
            raise Refusal("USER_ERROR", "The total applied is more than the credit memo.",
                          "apply")

    # -- payments and balances ----------------------------------------------------------------
    def total(self, body: Row) -> Decimal:
        lines = (body.get("item") or {}).get("items") or []
        net = sum((Decimal(str(ln["amount"])) for ln in lines), Decimal(0))
        tax = Decimal(0)
        for ln in lines:
            code = self.tables["salestaxitem"].get(str((ln.get("taxCode") or {}).get("id")))
            if code is not None:
                tax += Decimal(str(ln["amount"])) * Decimal(str(code.get("rate", 0))) / 100
        return net + tax.quantize(CENT, ROUND_HALF_UP)

    def credited(self, invoice: str, but: str | None = None) -> Decimal:
        """What credit memos' ``apply`` sublists apply to an invoice (``but`` one memo)."""
        return sum((Decimal(str(line.get("amount", 0)))
                    for memo in self.records.get("creditMemo", {}).values()
                    if memo.get("externalId") != but
                    for line in (memo.get("apply") or {}).get("items") or []
                    if line.get("apply") and str(line["doc"]["id"]) == invoice), Decimal(0))

    def applied_line(self, memo: str, invoice: str) -> Decimal:
        """What one credit memo applies to one invoice."""
        return sum((Decimal(str(line.get("amount", 0)))
                    for line in (self.records["creditMemo"][memo].get("apply") or {}).get(
                        "items") or []
                    if line.get("apply") and str(line["doc"]["id"]) == invoice), Decimal(0))

    def amount_remaining(self, invoice: str, but: str | None = None) -> Decimal:
        """An invoice's total less the payments and the credit memos applied to it."""
        paid = sum((a["amount"] for a in self.applications if a["invoice"] == invoice),
                   Decimal(0))
        return self.total(self.records["invoice"][invoice]) - paid - self.credited(invoice, but)

    def pay(self, invoice_external: str, amount: Decimal, on: str, *, memo: str = "",
            modified: str | None = None, rate: Decimal | None = None) -> str:
        """A customer payment applied to one invoice (no more than it still owes), at its
        own ``exchangeRate`` (subsidiary units per payment unit; by default the invoice's,
        1 for a home-currency invoice)."""
        invoice = self.by_external("invoice", invoice_external)
        if invoice is None:
            raise KeyError(f"no invoice with external id {invoice_external}")
        inv = self.records["invoice"][invoice]
        if Decimal(amount) > self.amount_remaining(invoice):
            raise Refusal("USER_ERROR", f"The payment ({amount}) is more than the amount due "
                          f"on {invoice_external}.", "apply")
        internal = str(self.next_id)
        self.next_id += 1
        self.records.setdefault("customerPayment", {})[internal] = {
            "id": internal, "customer": inv["entity"]["id"], "tranDate": on, "memo": memo,
            "exchangeRate": Decimal(str(rate or inv.get("exchangeRate") or 1)),
            "invoice": invoice, "amount": Decimal(amount)}
        self.tables["transaction"][internal] = {"id": internal, "type": "CustPymt",
                                                "externalid": None, "tranid": f"PYMT{internal}"}
        currency = self.currency_of(inv)
        self.applications.append({
            "payment": internal, "payment_number": f"PYMT{internal}", "received_on": on,
            "modified": modified or self.clock, "memo": memo or None, "invoice": invoice,
            "invoice_external_id": invoice_external, "amount": Decimal(amount),
            "currency": currency})
        return internal

    def realized_gain(self, payment: str) -> Decimal:
        """NetSuite's realized gain (+) or loss (−) on a payment, in the subsidiary's
        currency: the amount at the payment's ``exchangeRate`` less at the invoice's (each to
        the cent, half up)."""
        pay = self.records["customerPayment"][payment]
        invoice = self.records["invoice"][pay["invoice"]]

        def home(rate: Any) -> Decimal:
            return (pay["amount"] * Decimal(str(rate or 1))).quantize(CENT, ROUND_HALF_UP)

        return home(pay["exchangeRate"]) - home(invoice.get("exchangeRate"))

    def currency_of(self, body: Row) -> str:
        if "currency" in body:
            return str(self.tables["currency"][body["currency"]["id"]]["symbol"])
        sub = self.tables["subsidiary"][body["subsidiary"]["id"]]
        return str(self.tables["currency"][str(sub["currency"])]["symbol"])

    def payments_since(self, since: str) -> list[Row]:
        rows = [dict(a) for a in self.applications if a["modified"] >= since]
        return sorted(rows, key=lambda r: (r["modified"], int(r["payment"]), int(r["invoice"])))

    def open_balance(self, customer_external: str) -> dict[str, Decimal]:
        """Per currency: invoices − credit memos − payments applied, for one customer."""
        customer = self.by_external("customer", customer_external)
        out: dict[str, Decimal] = {}
        for rtype, sign in (("invoice", 1), ("creditMemo", -1)):
            for body in self.records.get(rtype, {}).values():
                if str(body["entity"]["id"]) == customer:
                    cur = self.currency_of(body)
                    out[cur] = out.get(cur, Decimal(0)) + sign * self.total(body)
        for app in self.applications:
            inv = self.records["invoice"].get(app["invoice"])
            if inv is not None and str(inv["entity"]["id"]) == customer:
                out[app["currency"]] = out.get(app["currency"], Decimal(0)) - app["amount"]
        return out
