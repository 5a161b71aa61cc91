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
        if body.get("externalId", external) != external:
            raise Refusal("INVALID_FLD_VALUE", "externalId differs from the eid in the URL",
                          "externalId")
        self._check(rtype, body)
        internal = self.by_external(rtype, external)
        created = internal is None
        if internal is None:
            internal = str(self.next_id)
            self.next_id += 1
        stored = {**body, "externalId": external, "id": internal}
        self.records.setdefault(rtype, {})[internal] = stored
        self._index(rtype, internal, stored)
        return internal, created

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

    def pay(self, invoice_external: str, amount: Decimal, on: str, *, memo: str = "",
            modified: str | None = None) -> str:
        invoice = self.by_external("invoice", invoice_external)
        if invoice is None:
            raise KeyError(f"no invoice with external id {invoice_external}")
        inv = self.records["invoice"][invoice]
        internal = str(self.next_id)
        self.next_id += 1
        self.records.setdefault("customerPayment", {})[internal] = {
            "id": internal, "customer": inv["entity"]["id"], "tranDate": on, "memo": memo}
        self.tables["transaction"][internal] = {"id": internal, "type": "CustPymt",
                                                "externalid": None, "tranid": f"PYMT{internal}"}
        currency = self.currency_of(inv)
        self.applications.append({
            "payment": internal, "payment_number": f"PYMT{internal}", "received_on": on,
            "modified": modified or self.clock, "memo": memo or None, "invoice": invoice,
            "invoice_external_id": invoice_external, "amount": Decimal(amount),
            "currency": currency})
        return internal

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
