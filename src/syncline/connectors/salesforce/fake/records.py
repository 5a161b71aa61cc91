"""Canonical ``deal.closed_won`` data → the Salesforce records the mapping reads back into the
same data: an Account, an Opportunity and its OpportunityLineItems (for loading a simulated
firm's deals into the fake org).

The inverse of mapping.py under the same settings: each term goes to its configured field;
a term with no field must equal what the mapping's default would give, else
``Unrepresentable`` says which setting is missing (the round trip is exact or refused).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from syncline.connectors.salesforce.settings import SalesforceSettings
from syncline.connectors.salesforce.values import label_of

#: standard fields of the objects the connector reads (psa-erp-anchors.md §3.1)
STANDARD: dict[str, tuple[str, ...]] = {
    "Opportunity": (
        "Id", "AccountId", "Name", "StageName", "CloseDate", "Amount", "Probability",
        "IsClosed", "IsWon", "Type", "OwnerId", "Pricebook2Id", "HasOpportunityLineItem",
        "CurrencyIsoCode", "CreatedDate", "LastModifiedDate", "SystemModstamp"),
    "OpportunityLineItem": (
        "Id", "OpportunityId", "PricebookEntryId", "Product2Id", "ProductCode", "Name",
        "Quantity", "UnitPrice", "ListPrice", "TotalPrice", "Discount", "ServiceDate",
        "Description", "SortOrder", "CurrencyIsoCode", "SystemModstamp"),
    "Account": ("Id", "Name", "BillingCountry", "BillingCountryCode", "BillingCity",
                "CurrencyIsoCode", "SystemModstamp"),
}
_PREFIX = {"Opportunity": "006", "Account": "001", "OpportunityLineItem": "00k"}


class Unrepresentable(ValueError):
    pass


def salesforce_id(sobject: str, seed: str) -> str:
    """A stable 18-character record Id with the object's key prefix."""
    digest = hashlib.sha256(f"{sobject}:{seed}".encode()).hexdigest()[:12]
    return f"{_PREFIX.get(sobject, 'a0X')}{digest}AAA"


def deal_records(data: dict[str, Any], s: SalesforceSettings,
                 stage: str = "Closed Won") -> dict[str, list[dict[str, Any]]]:
    opp: dict[str, Any] = {"IsWon": True, "IsClosed": True, "StageName": stage}
    acc: dict[str, Any] = {}
    deal_id = data["deal_id"]
    contract, project, customer = data["contract"], data["project"], data["customer"]

    def term(name: str, value: Any, default: Any = None, stored: Any = None) -> None:
        path = s.fields[name]
        if path:
            _place(opp, acc, path, value if stored is None else stored)
        elif value is not None and value != default:
            raise Unrepresentable(f"{name}={value!r}: no field configured "
                                  f"(settings.fields.{name}) and the default gives {default!r}")

    term("deal_id", deal_id)
    opp.setdefault("Id", salesforce_id("Opportunity", deal_id))
    term("customer_id", customer["external_id"])
    term("customer_name", customer["name"])
    term("country", customer.get("country"))
    term("billing_email", customer.get("billing_email"))
    acc.setdefault("Id", salesforce_id("Account", customer["external_id"]))
    opp.setdefault("AccountId", acc["Id"])
    for name in ("legal_entity", "tax_profile", "currency", "payment_terms_days"):
        value = contract.get(name) if name == "payment_terms_days" else data.get(name)
        term(name, value, s.defaults.get(name))
    term("contract_number", contract["number"], deal_id)
    start = contract["start_date"]
    opp["CloseDate"] = (data.get("closed_at") or start)[:10] if s.fields["start_date"] else start
    term("start_date", start, opp["CloseDate"])
    term("end_date", contract["end_date"])
    bt = contract["billing_type"]
    term("billing_type", bt, s.defaults.get("billing_type"),
         label_of(bt, s.values.get("billing_type", {})))
    term("service_line", contract.get("service_line"))
    term("project_code", project["code"], deal_id)
    term("project_name", project["name"])
    template = project["template"]
    term("project_template", template, s.defaults.get("project_template"),
         label_of(template, s.values.get("project_template", {})))
    closed = data.get("closed_at")
    term("closed_at", closed, None, closed and closed.replace("Z", ".000+0000"))
    for name in ("rates", "milestones", "billing_terms"):
        value = data.get(name)
        term(name, value, None, None if value is None else json.dumps(value))
    lines = [_line(line, i, opp["Id"], bt, s) for i, line in enumerate(data["lines"])]
    return {"Account": [acc], "Opportunity": [opp], "OpportunityLineItem": lines}


def _line(line: dict[str, Any], index: int, opp_id: str, billing_type: str,
          s: SalesforceSettings) -> dict[str, Any]:
    lf = s.line_fields
    kind = line["kind"]
    amount = line.get("amount")
    if (amount is None) != (kind == "time_and_materials"):
        raise Unrepresentable(f"line {line['line_id']}: a {kind} line "
                              f"{'has no' if amount is None else 'has an'} amount")
    price = Decimal(amount) if amount is not None else Decimal(0)
    row: dict[str, Any] = {"OpportunityId": opp_id, "SortOrder": index + 1,
                           "Quantity": Decimal(1), "UnitPrice": price, "TotalPrice": price,
                           "Name": line["description"]}
    given = {"line_id": line["line_id"], "description": line["description"],
             "kind": label_of(kind, s.values.get("billing_type", {})),
             "estimated_hours": line.get("estimated_hours"),
             "estimated_cost": line.get("estimated_cost"),
             "recognition": _recognition(line.get("recognition"), s)}
    defaults = {"kind": label_of(billing_type, s.values.get("billing_type", {}))}
    for name, value in given.items():
        field = lf.get(name)
        if field:
            row[field] = Decimal(value) if name.startswith("estimated") and value else value
        elif value is not None and value != defaults.get(name):
            raise Unrepresentable(f"line {line['line_id']}: {name}={value!r} needs "
                                  f"settings.line_fields.{name}")
    row.setdefault("Id", salesforce_id("OpportunityLineItem", f"{opp_id}:{line['line_id']}"))
    return row


def _recognition(value: Any, s: SalesforceSettings) -> str | None:
    if isinstance(value, dict):
        raise Unrepresentable("recognition as {\"method\": …} has no picklist form; "
                              "send the method name")
    return None if value is None else label_of(value, s.values.get("recognition", {}))


def _place(opp: dict[str, Any], acc: dict[str, Any], path: str, value: Any) -> None:
    if path.startswith("Account."):
        acc[path[8:]] = value
    elif path == "AccountId":
        opp["AccountId"] = acc["Id"] = value
    else:
        opp[path] = value
