"""The Salesforce connector's settings: which org, how to log in, and where each deal term lives.

Salesforce has no native field for most of Syncline's deal terms (billing type, project
template, legal entity, tax profile, payment terms, recognition …). A firm names the custom
fields that hold them under ``fields`` (Opportunity; ``Account.X`` reaches the Account through
the lookup) and ``line_fields`` (OpportunityLineItem). A term without a configured field takes
its documented default below; a term with neither is omitted when optional. Nothing assumes a
custom field exists unless it is configured (docs/connectors/salesforce.md, "Field map").

Enumerated terms (billing type, template, line kind, recognition, amendment action) may carry
org picklist labels: ``values: {billing_type: {"Time & Materials": time_and_materials}}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.sdk.events import rfc3339

#: Opportunity-level terms → the field read by default (None: no native field)
DEAL_FIELDS: dict[str, str | None] = {
    "deal_id": "Id", "customer_id": "AccountId", "customer_name": "Account.Name",
    "country": "Account.BillingCountryCode", "billing_email": None, "legal_entity": None,
    "tax_profile": None, "currency": "CurrencyIsoCode", "contract_number": None,
    "start_date": None, "end_date": None, "billing_type": None, "payment_terms_days": None,
    "service_line": None, "project_code": None, "project_name": "Name",
    "project_template": None, "closed_at": None, "rates": None, "milestones": None,
    "billing_terms": None, "amends": None, "amendment_reason": None,
    "amendment_end_date": None,
}
#: OpportunityLineItem terms → the field read by default
LINE_FIELDS: dict[str, str | None] = {
    "line_id": "Id", "kind": None, "description": "Description", "estimated_hours": None,
    "estimated_cost": None, "recognition": None, "action": None,
}
#: documented defaults of terms that have no field (contract_number, project_code: the deal
#: id; start_date: CloseDate; line kind: the contract's billing type)
DEFAULTS: dict[str, Any] = {"billing_type": "time_and_materials",
                            "project_template": "advisory", "currency": None,
                            "legal_entity": None, "tax_profile": None,
                            "payment_terms_days": None}
ENUMS: dict[str, tuple[str, ...]] = {
    "billing_type": ("time_and_materials", "fixed_fee", "retainer"),
    "project_template": ("implementation", "advisory", "managed_service"),
    "recognition": ("right_to_invoice", "milestones", "hours", "cost_to_cost", "ratable"),
    "action": ("add_line", "change_price", "remove_line", "change_cap", "top_up_block",
               "change_rate"),
}
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")
_VERSION = re.compile(r"^v\d{2,3}\.0$")


class SettingsInvalid(ValueError):
    pass


@dataclass(frozen=True)
class ChangeOrders:
    """Amendments kept in a change-order custom object with child lines (mode change_order)."""

    object: str  # e.g. Change_Order__c
    fields: dict[str, str]  # deal_id (required), effective_date (required), end_date, reason
    lines: str  # child relationship name, e.g. Change_Order_Lines__r
    line_fields: dict[str, str]  # canonical change key → field; action required


@dataclass(frozen=True)
class SalesforceSettings:
    instance_url: str
    org_id: str | None
    api_version: str = "v62.0"
    fields: dict[str, str | None] = field(default_factory=lambda: dict(DEAL_FIELDS))
    line_fields: dict[str, str | None] = field(default_factory=lambda: dict(LINE_FIELDS))
    defaults: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    won_stages: tuple[str, ...] | None = None  # None: IsWon alone decides
    amendments: str = "none"  # none | opportunity | change_order
    change_orders: ChangeOrders | None = None
    status_id_field: str | None = None  # External ID field the write-back upserts by
    status_fields: dict[str, str] = field(default_factory=dict)  # payload key → field
    since: str | None = None  # first sync starts here (SOQL datetime); None: everything

    @property
    def api(self) -> str:
        return f"/services/data/{self.api_version}"

    def link(self, record_id: str, sobject: str = "Opportunity") -> str:
        return f"{self.instance_url}/lightning/r/{sobject}/{record_id}/view"


def parse(config: ConnectorConfig) -> SalesforceSettings:
    """Read and check the settings; every problem is named with its key."""
    s = config.settings
    problems: list[str] = []
    instance = str(s.get("instance_url") or "").rstrip("/")
    if not instance.startswith("https://"):
        problems.append("instance_url: the org's https://<MyDomain>.my.salesforce.com")
    version = str(s.get("api_version") or "v62.0")
    if not _VERSION.match(version):
        problems.append(f"api_version: like v62.0 (got {version!r})")
    fields = _terms(s.get("fields"), DEAL_FIELDS, "fields", problems)
    lines = _terms(s.get("line_fields"), LINE_FIELDS, "line_fields", problems)
    if fields["end_date"] is None:
        problems.append("fields.end_date: name the Opportunity field holding the contract "
                        "end date (Salesforce has none natively)")
    defaults = dict(DEFAULTS, **(s.get("defaults") or {}))
    if fields["currency"] is None and not defaults.get("currency"):
        problems.append("defaults.currency: a single-currency org (fields.currency: null) "
                        "needs the corporate currency")
    values = s.get("values") or {}
    for term, table in values.items():
        if term not in ENUMS or not isinstance(table, dict) or \
                any(v not in ENUMS[term] for v in table.values()):
            problems.append(f"values.{term}: a map of picklist label → one of "
                            + ", ".join(ENUMS.get(term, ("(unknown term)",))))
    stages = s.get("won_stages")
    mode = str(s.get("amendments", {}).get("mode", "none")) if isinstance(
        s.get("amendments"), dict) else "none"
    change_orders = _change_orders(s.get("amendments"), mode, fields, problems)
    writeback = s.get("status_writeback") or {}
    id_field = writeback.get("external_id_field")
    if writeback and (not id_field or id_field == "Id" or id_field != fields["deal_id"]):
        problems.append("status_writeback.external_id_field: an External ID field on "
                        "Opportunity, the same as fields.deal_id (REST upsert does not take "
                        "record Ids)")
    if problems:
        raise SettingsInvalid("; ".join(problems))
    return SalesforceSettings(
        instance_url=instance, org_id=s.get("org_id"), api_version=version, fields=fields,
        line_fields=lines, defaults=defaults, values=values,
        won_stages=tuple(stages) if stages else None, amendments=mode,
        change_orders=change_orders, status_id_field=id_field,
        status_fields=dict(writeback.get("fields") or {}), since=_since(s.get("since")))


def _since(value: Any) -> str | None:
    """YAML reads an unquoted timestamp as a datetime: keep it as the SOQL literal."""
    if isinstance(value, datetime):
        return rfc3339(value)
    return None if value is None else str(value)


def _terms(given: Any, known: dict[str, str | None], key: str,
           problems: list[str]) -> dict[str, str | None]:
    out = dict(known)
    for term, name in (given or {}).items():
        if term not in known:
            problems.append(f"{key}.{term}: not a term; known: {', '.join(known)}")
        elif name is not None and not _FIELD.match(str(name)):
            problems.append(f"{key}.{term}: {name!r} is not a field API name")
        else:
            out[term] = name
    return out


def _change_orders(block: Any, mode: str, fields: dict[str, str | None],
                   problems: list[str]) -> ChangeOrders | None:
    if mode not in ("none", "opportunity", "change_order"):
        problems.append("amendments.mode: none, opportunity or change_order")
        return None
    if mode == "opportunity" and not fields["amends"]:
        problems.append("fields.amends: amendment opportunities need the field naming the "
                        "original deal")
    if mode != "change_order":
        return None
    co = ChangeOrders(object=str(block.get("object") or ""),
                      fields=dict(block.get("fields") or {}),
                      lines=str(block.get("lines") or ""),
                      line_fields=dict(block.get("line_fields") or {}))
    for name in ("deal_id", "effective_date"):
        if name not in co.fields:
            problems.append(f"amendments.fields.{name}: required for change orders")
    if not co.object or not co.lines or "action" not in co.line_fields:
        problems.append("amendments: object, lines (child relationship) and "
                        "line_fields.action are required for change orders")
    return co
