"""The fake company's objects, its query language and its business rules (see __init__).

Rules modelled from Intuit's docs (connectors.md §6, anchors §3.5): DisplayName unique (6240);
references must exist (2500); an update needs the current SyncToken (5010) and bumps it;
a journal entry balances and an A/R line names a customer (6000); a foreign-currency
document needs multicurrency on and the customer's currency; DocNumber unique only when the
company enforces it (``unique_doc_numbers``: 6140). Query: ``select * from E [where a op v
[and …]] [orderby f [asc|desc]] [startposition n] [maxresults m]`` with ``= < > <= >= in
like`` (``%`` only); name lists (Customer, Account, Item …) answer active rows unless the
statement names ``Active``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

Obj = dict[str, Any]
NAME_LISTS = {"Customer", "Account", "Item", "Class", "Department", "TaxCode",
              "CompanyCurrency"}
_STATEMENT = re.compile(
    r"^select \* from (\w+)(?: where (.+?))?(?: orderby ([\w.]+)(?: (asc|desc))?)?"
    r"(?: startposition (\d+))?(?: maxresults (\d+))?$", re.I)
_CONDITION = re.compile(r"^([\w.]+) *(>=|<=|=|<|>| in | like ) *(.+)$", re.I)
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'|(true|false)", re.I)


class Fault(Exception):
    def __init__(self, status: int, code: str, message: str, detail: str = "",
                 kind: str = "ValidationFault") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail, self.kind = (
            status, code, message, detail, kind)


def _get(obj: Obj, path: str) -> Any:
    for part in path.split("."):
        obj = (obj or {}).get(part) if part != "Metadata" else obj.get("MetaData")
    return obj


def _values(text: str) -> list[Any]:
    return [m.group(1).replace("\\'", "'") if m.group(1) is not None
            else m.group(2).lower() == "true" for m in _LITERAL.finditer(text)]


def _compare(have: Any, op: str, want: list[Any]) -> bool:
    op = op.strip().lower()
    if op == "in":
        return have in want or str(have) in [str(w) for w in want]
    value = want[0]
    if op == "like":
        pattern = "^" + ".*".join(re.escape(p) for p in str(value).split("%")) + "$"
        return re.match(pattern, str(have or ""), re.S) is not None
    if isinstance(value, bool):
        return bool(have) == value if op == "=" else False
    a, b = str(have or ""), str(value)
    if re.match(r"\d{4}-\d\d-\d\dT", b):
        a, b = _iso(a), _iso(b)  # type: ignore[assignment]
    return {"=": a == b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


def _iso(text: str) -> datetime | str:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


class Company:
    def __init__(self, now: Callable[[], datetime], home_currency: str,
                 multicurrency: bool) -> None:
        self.now, self.home, self.multicurrency = now, home_currency, multicurrency
        self.objects: dict[str, dict[str, Obj]] = {}
        self.deleted: dict[str, dict[str, Obj]] = {}
        self.unique_doc_numbers = False
        self._next = 100

    def stamp(self) -> str:
        return self.now().isoformat()

    def add(self, entity: str, obj: Obj) -> Obj:
        if "Id" not in obj:
            self._next += 1
            obj["Id"] = str(self._next)
        obj.setdefault("SyncToken", "0")
        obj.setdefault("MetaData", {"CreateTime": self.stamp(), "LastUpdatedTime": self.stamp()})
        if entity in NAME_LISTS:
            obj.setdefault("Active", True)
        self.objects.setdefault(entity, {})[obj["Id"]] = obj
        return obj

    def get(self, entity: str, object_id: str) -> Obj:
        found = self.objects.get(entity, {}).get(str(object_id))
        if found is None:
            raise Fault(400, "610", "Object Not Found", f"{entity} {object_id} not found")
        return found

    def ref(self, entity: str, ref: Any, where: str) -> Obj:
        try:
            return self.get(entity, str((ref or {}).get("value")))
        except Fault:
            raise Fault(400, "2500", "Invalid Reference Id",
                        f"{where}: {entity} {(ref or {}).get('value')} does not exist") from None

    # -- writes ------------------------------------------------------------------------------
    def write(self, entity: str, body: Obj) -> Obj:
        if body.get("Id"):
            return self._update(entity, body)
        check = getattr(self, f"_check_{entity.lower()}", None)
        if check:
            check(body)
        return self.add(entity, body)

    def _update(self, entity: str, body: Obj) -> Obj:
        current = self.get(entity, str(body["Id"]))
        if str(body.get("SyncToken")) != current["SyncToken"]:
            raise Fault(400, "5010", "Stale Object Error", "You and another user were "
                        f"working on {entity} {body['Id']} at the same time")
        changes = {k: v for k, v in body.items() if k not in ("Id", "SyncToken", "sparse")}
        if entity == "Customer" and "DisplayName" in changes:
            self._unique_name(changes["DisplayName"], current["Id"])
        current.update(changes)
        current["SyncToken"] = str(int(current["SyncToken"]) + 1)
        current["MetaData"] = {**current["MetaData"], "LastUpdatedTime": self.stamp()}
        return current

    def bump(self, entity: str, object_id: str) -> None:
        """Someone else edits the object: its SyncToken moves on."""
        obj = self.get(entity, object_id)
        obj["SyncToken"] = str(int(obj["SyncToken"]) + 1)

    def _unique_name(self, name: str, own_id: str | None = None) -> None:
        for other in self.objects.get("Customer", {}).values():
            if other["DisplayName"].lower() == str(name).lower() and other["Id"] != own_id:
                raise Fault(400, "6240", "Duplicate Name Exists Error",
                            f"The name supplied already exists. : Id={other['Id']}")

    def _currency(self, body: Obj, customer: Obj) -> str:
        currency = str((body.get("CurrencyRef") or {}).get("value") or self.home)
        if currency != self.home and not self.multicurrency:
            raise Fault(400, "6000", "A business validation error has occurred",
                        "Multicurrency is not enabled for this company")
        if currency != str((customer.get("CurrencyRef") or {}).get("value") or self.home):
            raise Fault(400, "6000", "A business validation error has occurred",
                        "The transaction currency must match the customer's currency")
        return currency

    def _check_customer(self, body: Obj) -> None:
        self._unique_name(body.get("DisplayName", ""))
        currency = (body.get("CurrencyRef") or {}).get("value") or self.home
        if currency != self.home and not self.multicurrency:
            raise Fault(400, "6000", "A business validation error has occurred",
                        "Multicurrency is not enabled for this company")
        body["CurrencyRef"] = {"value": currency}
        body.setdefault("Balance", Decimal(0))

    def _sales(self, body: Obj, label: str) -> Decimal:
        customer = self.ref("Customer", body.get("CustomerRef"), f"{label}.CustomerRef")
        if not body.get("Line"):
            raise Fault(400, "2020", "Required param missing", f"{label}.Line")
        body["CurrencyRef"] = {"value": self._currency(body, customer)}
        total = Decimal(0)
        for line in body["Line"]:
            detail = line.get("SalesItemLineDetail") or {}
            self.ref("Item", detail.get("ItemRef"), f"{label}.Line.ItemRef")
            total += Decimal(str(line["Amount"]))
        if self.unique_doc_numbers and any(
                o.get("DocNumber") == body.get("DocNumber")
                for o in self.objects.get(label, {}).values()):
            raise Fault(400, "6140", "Duplicate Document Number Error",
                        f"Duplicate Document Number Error : {body.get('DocNumber')}")
        total += Decimal(str((body.get("TxnTaxDetail") or {}).get("TotalTax", 0)))
        body["TotalAmt"] = total
        return total

    def _check_invoice(self, body: Obj) -> None:
        body["Balance"] = self._sales(body, "Invoice")

    def _check_creditmemo(self, body: Obj) -> None:
        body["RemainingCredit"] = body["Balance"] = self._sales(body, "CreditMemo")

    def _check_payment(self, body: Obj) -> None:
        """A Payment applies its lines to invoices (their ``Balance`` falls) and credit memos
        (their ``RemainingCredit`` falls): what it applies to invoices less the credit it
        uses is its ``TotalAmt`` (0 for a credit memo applied to an invoice). An amount
        above an open balance, a document of another customer or currency is refused."""
        customer = self.ref("Customer", body.get("CustomerRef"), "Payment.CustomerRef")
        currency = self._currency(body, customer)
        body["CurrencyRef"] = {"value": currency}
        moves: list[tuple[Obj, str, Decimal]] = []
        applied = Decimal(0)
        for line in body.get("Line") or []:
            amount = Decimal(str(line["Amount"]))
            for txn in line.get("LinkedTxn") or []:
                kind = str(txn.get("TxnType"))
                field, sign = {"Invoice": ("Balance", 1), "CreditMemo": ("RemainingCredit", -1)
                               }.get(kind, ("", 0))
                if not sign:
                    raise Fault(400, "6000", "A business validation error has occurred",
                                f"A payment cannot be linked to a {kind}")
                doc = self.ref(kind, {"value": txn.get("TxnId")}, "Payment.Line.LinkedTxn")
                if doc["CustomerRef"]["value"] != customer["Id"] or \
                        doc["CurrencyRef"]["value"] != currency:
                    raise Fault(400, "6000", "A business validation error has occurred",
                                f"{kind} {doc['Id']} is not this customer's in {currency}")
                if amount <= 0 or amount > Decimal(str(doc[field])):
                    raise Fault(400, "6000", "A business validation error has occurred",
                                f"The amount applied to {kind} {doc['Id']} is more than "
                                "its open balance")
                moves.append((doc, field, amount))
                applied += sign * amount
        if applied != Decimal(str(body.get("TotalAmt", 0))) or not moves:
            raise Fault(400, "6000", "A business validation error has occurred",
                        "The amounts applied do not add up to the payment's TotalAmt")
        for doc, field, amount in moves:
            doc[field] = Decimal(str(doc[field])) - amount
            if field == "RemainingCredit":
                doc["Balance"] = doc[field]
            doc["MetaData"] = {**doc["MetaData"], "LastUpdatedTime": self.stamp()}
        body.setdefault("UnappliedAmt", Decimal(0))

    def _check_journalentry(self, body: Obj) -> None:
        sides = {"Debit": Decimal(0), "Credit": Decimal(0)}
        for line in body.get("Line") or []:
            detail = line["JournalEntryLineDetail"]
            account = self.ref("Account", detail.get("AccountRef"), "JournalEntry.AccountRef")
            if account.get("AccountType") == "Accounts Receivable" and not detail.get("Entity"):
                raise Fault(400, "6000", "A business validation error has occurred",
                            "When you use Accounts Receivable, you must choose a customer "
                            "in the Name field.")
            sides[detail["PostingType"]] += Decimal(str(line["Amount"]))
        if sides["Debit"] != sides["Credit"] or not body.get("Line"):
            raise Fault(400, "6000", "A business validation error has occurred",
                        "Transaction is not balanced")

    # -- reads -------------------------------------------------------------------------------
    def query(self, statement: str) -> tuple[str, list[Obj], int]:
        m = _STATEMENT.match(" ".join(statement.split()))
        if not m:
            raise Fault(400, "4000", "Error parsing query", statement[:200], "QueryParserError")
        entity, where, order, direction, start, limit = m.groups()
        if limit and int(limit) > 1000:
            raise Fault(400, "4001", "Invalid query", "MAXRESULTS is at most 1000")
        rows = list(self.objects.get(entity, {}).values())
        named_active = False
        for condition in re.split(r" and ", where or "", flags=re.I) if where else []:
            c = _CONDITION.match(condition.strip())
            if not c:
                raise Fault(400, "4000", "Error parsing query", condition, "QueryParserError")
            path, op, raw = c.groups()
            named_active |= path == "Active"
            rows = [r for r in rows if _compare(_get(r, path), op, _values(raw))]
        if entity in NAME_LISTS and not named_active:
            rows = [r for r in rows if r.get("Active", True)]
        if order:
            rows.sort(key=lambda r: str(_get(r, order) or ""),
                      reverse=(direction or "").lower() == "desc")
        first = int(start or 1)
        return entity, rows[first - 1:first - 1 + int(limit or 100)], first

    def changed(self, entity: str, since: datetime) -> list[Obj]:
        live = [o for o in self.objects.get(entity, {}).values()
                if _iso(o["MetaData"]["LastUpdatedTime"]) >= since]  # type: ignore[operator]
        gone = [o for o in self.deleted.get(entity, {}).values()
                if _iso(o["MetaData"]["LastUpdatedTime"]) >= since]  # type: ignore[operator]
        return live + gone
