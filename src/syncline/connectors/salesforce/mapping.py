"""A closed-won Opportunity (SOQL row with its Account and OpportunityLineItems) → the
canonical ``deal.closed_won`` data. Pure: dicts in, dicts out.

Rules (docs/connectors/salesforce.md, "Mapping"):
- closed-won is ``IsWon`` (stage names are org-specific); when ``won_stages`` is configured,
  a won Opportunity in a stage not listed is refused ("unknown stage"), so a new won stage
  is looked at before it bills;
- the customer is the Account: ``Id`` → ``external_id``, ``Name``, ``BillingCountryCode``;
- a term reads its configured field, else its documented default; a required term with
  neither, or a configured legal entity / tax profile left empty, is refused;
- a line's amount: fixed fee → ``TotalPrice``; retainer → ``UnitPrice`` (the monthly fee);
  time and materials → none;
- lines keep ``SortOrder`` (then the order Salesforce returned).

Every refusal is a ``MappingError`` naming the Opportunity Id and its Lightning link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncline.connectors.salesforce.settings import ENUMS, SalesforceSettings
from syncline.connectors.salesforce.values import (
    BadValue,
    choice,
    day,
    decimal_text,
    get,
    json_text,
    moment,
    whole,
)
from syncline.connectors.sdk.errors import MappingError

VENDOR = "salesforce"
_MUST_WHEN_CONFIGURED = ("legal_entity", "tax_profile")
_JSON_SHAPES: dict[str, type] = {"rates": list, "milestones": list, "billing_terms": dict}


class Reader:
    """Reads the terms of one record; every problem becomes a refusal naming the record."""

    def __init__(self, record: dict[str, Any], s: SalesforceSettings,
                 sobject: str = "Opportunity") -> None:
        self.record, self.s, self.sobject = record, s, sobject
        self.record_id = str(record.get("Id") or "(no Id)")

    def refuse(self, reason: str) -> MappingError:
        return MappingError(VENDOR, self.sobject, self.record_id, reason,
                            self.s.link(self.record_id, self.sobject))

    def read(self, term: str, convert: Callable[[Any], Any] = str, *,
             required: bool = False, row: dict[str, Any] | None = None,
             path: str | None = None, fields: dict[str, str | None] | None = None) -> Any:
        """The term's value from its field (``fields`` of the deal unless given), else its
        default; None when optional and empty."""
        table = self.s.fields if fields is None else fields
        name = path if path is not None else table.get(term)
        raw = get(self.record if row is None else row, name)
        if raw is None:
            if fields is None and self.s.defaults.get(term) is not None:
                return self.s.defaults[term]
            if required or (name and term in _MUST_WHEN_CONFIGURED):
                where = f"field {name} is empty" if name else (
                    f"no field configured (settings.fields.{term}) and no default")
                raise self.refuse(f"missing {term}: {where}")
            return None
        try:
            return convert(raw)
        except BadValue as bad:
            raise self.refuse(f"{term} ({name}): {bad}") from None

    def enum(self, term: str, **kw: Any) -> Any:
        labels = self.s.values.get(term, {})
        return self.read(term, lambda v: choice(v, ENUMS[term], labels), **kw)


def check_stage(opp: dict[str, Any], s: SalesforceSettings) -> bool | None:
    """Closed-won from ``IsWon`` (or, when a notification lacks it, the configured won
    stages); None when the record says neither. Refuses a won record in an unknown stage."""
    won, stage = opp.get("IsWon"), opp.get("StageName")
    if s.won_stages is not None and stage is not None:
        if won is True and stage not in s.won_stages:
            raise Reader(opp, s).refuse(
                f"unknown stage {stage!r}: closed-won in Salesforce but not one of the "
                f"configured won_stages ({', '.join(s.won_stages)})")
        if won is None:
            return stage in s.won_stages
    return None if won is None else bool(won)


def line_items(opp: dict[str, Any]) -> list[dict[str, Any]]:
    """The Opportunity's line items in ``SortOrder`` (a null child relationship: none)."""
    child = opp.get("OpportunityLineItems")
    rows = list(child.get("records") or []) if isinstance(child, dict) else []
    order = {id(r): i for i, r in enumerate(rows)}
    return sorted(rows, key=lambda r: (r.get("SortOrder") is None, r.get("SortOrder") or 0,
                                       order[id(r)]))


def line_amount(r: Reader, row: dict[str, Any], kind: str) -> str | None:
    if kind == "time_and_materials":
        return None
    price = "TotalPrice" if kind == "fixed_fee" else "UnitPrice"
    amount: str = r.read("amount", decimal_text, required=True, row=row, path=price)
    return amount


def deal_data(opp: dict[str, Any], s: SalesforceSettings) -> dict[str, Any]:
    r = Reader(opp, s)
    if check_stage(opp, s) is False:
        raise r.refuse("not closed-won (IsWon is false)")
    deal_id = r.read("deal_id", required=True)
    billing_type = r.enum("billing_type", required=True)
    customer: dict[str, Any] = {"external_id": r.read("customer_id", required=True),
                                "name": r.read("customer_name", required=True)}
    put(customer, "country", r.read("country"))
    put(customer, "billing_email", r.read("billing_email"))
    contract: dict[str, Any] = {
        "number": r.read("contract_number") or deal_id,
        "start_date": r.read("start_date", day) or r.read(
            "start_date", day, required=True, path="CloseDate"),
        "end_date": r.read("end_date", day, required=True),
        "billing_type": billing_type,
    }
    put(contract, "payment_terms_days", r.read("payment_terms_days", whole))
    put(contract, "service_line", r.read("service_line"))
    data: dict[str, Any] = {
        "deal_id": deal_id, "customer": customer,
        "currency": r.read("currency", required=True),
        "contract": contract,
        "lines": deal_lines(r, opp, billing_type),
        "project": {"code": r.read("project_code") or deal_id,
                    "name": r.read("project_name", required=True),
                    "template": r.enum("project_template", required=True)},
    }
    put(data, "legal_entity", r.read("legal_entity"))
    put(data, "tax_profile", r.read("tax_profile"))
    put(data, "closed_at", r.read("closed_at", moment))
    for term, shape in _JSON_SHAPES.items():
        put(data, term, r.read(term, _shaped(shape)))
    return data


def deal_lines(r: Reader, opp: dict[str, Any], billing_type: str) -> list[dict[str, Any]]:
    rows = line_items(opp)
    if not rows:
        raise r.refuse("missing line items: the Opportunity has no OpportunityLineItems "
                       "(add the products sold)")
    return [deal_line(r, row, billing_type) for row in rows]


def deal_line(r: Reader, row: dict[str, Any], billing_type: str) -> dict[str, Any]:
    lf = r.s.line_fields
    labels = r.s.values
    kind = r.read("kind", lambda v: choice(v, ENUMS["billing_type"],
                                           labels.get("billing_type", {})),
                  row=row, fields=lf) or billing_type
    line: dict[str, Any] = {
        "line_id": r.read("line_id", required=True, row=row, fields=lf),
        "kind": kind,
        "description": r.read("description", row=row, fields=lf)
        or r.read("description", required=True, row=row, path="Name"),
    }
    put(line, "amount", line_amount(r, row, kind))
    for term in ("estimated_hours", "estimated_cost"):
        put(line, term, r.read(term, decimal_text, row=row, fields=lf))
    put(line, "recognition", r.read(
        "recognition", lambda v: choice(v, ENUMS["recognition"], labels.get("recognition", {})),
        row=row, fields=lf))
    return line


def _shaped(shape: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        parsed = json_text(value)
        if not isinstance(parsed, shape):
            raise BadValue(f"expected a JSON {'array' if shape is list else 'object'}")
        return parsed
    return convert


def put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value
