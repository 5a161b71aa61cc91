"""HubSpot deal + line items + company → ``deal.closed_won`` data (pure: dicts in, dicts out).

The rule: a deal is mapped only when its (pipeline, dealstage) pair is a configured
closed-won stage, it has at least one line item and exactly one company to bill (the primary
association when there are several). Standard HubSpot properties give the deal id, the
company (id → ``customer.external_id``, ``name``, ``country``), the currency
(``deal_currency_code``), the close date and the lines (line item id, ``name``, ``amount``).
Everything Syncline needs that HubSpot does not have natively (billing type, contract dates
and number, payment terms, project code and template, legal entity, tax profile, and per line
the kind, estimates and recognition) comes from *custom* properties the firm names in
``Terms.fields`` / ``Terms.line_fields``; an unconfigured term takes its documented default
(``DEFAULTS``), a configured one that is empty on the record is a refusal. Anything that
cannot be mapped raises ``MappingError`` naming the deal id (and its HubSpot link).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import (
    envelope,
    epoch_ms,
    parse_time,
    record_version_id,
    rfc3339,
)

VENDOR = "hubspot"
BILLING_TYPES = ("time_and_materials", "fixed_fee", "retainer")
TEMPLATES = ("implementation", "advisory", "managed_service")
RECOGNITION = ("right_to_invoice", "milestones", "hours", "cost_to_cost", "ratable")

# Syncline terms a deal may take from a custom deal property, and their defaults (None: absent)
DEAL_TERMS = ("contract_number", "start_date", "end_date", "term_months", "billing_type",
              "payment_terms_days", "service_line", "project_code", "project_name", "template",
              "legal_entity", "tax_profile")
LINE_TERMS = ("kind", "estimated_hours", "estimated_cost", "recognition")
DEFAULTS: dict[str, Any] = {"billing_type": "time_and_materials", "template": "implementation",
                            "payment_terms_days": 30, "term_months": 12}
ENUMS = {"billing_type": BILLING_TYPES, "kind": BILLING_TYPES, "template": TEMPLATES,
         "recognition": RECOGNITION}

# standard properties read (the custom ones named in Terms are added to these)
DEAL_PROPERTIES = ("dealname", "dealstage", "pipeline", "closedate", "deal_currency_code",
                   "hs_lastmodifieddate")
LINE_PROPERTIES = ("hs_product_id", "name", "quantity", "price", "amount")
COMPANY_PROPERTIES = ("name", "country")
PRIMARY_COMPANY_TYPE_ID = 5  # deal → company "Primary" (HUBSPOT_DEFINED); unconfirmed id

_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


@dataclass(frozen=True)
class Terms:
    """How a firm's HubSpot portal carries Syncline's terms (the connector's settings)."""

    stages: dict[str, tuple[str, ...]]  # pipeline id → its closed-won stage ids
    fields: dict[str, str] = field(default_factory=dict)  # deal term → deal property
    line_fields: dict[str, str] = field(default_factory=dict)  # line term → line property
    defaults: dict[str, Any] = field(default_factory=dict)  # over DEFAULTS
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)  # term → raw → value
    country_codes: dict[str, str] = field(default_factory=dict)  # "United Kingdom" → "GB"
    currency: str | None = None  # when a deal has no deal_currency_code
    portal_id: str | None = None

    def default(self, term: str) -> Any:
        return self.defaults.get(term, DEFAULTS.get(term))

    def deal_properties(self) -> list[str]:
        return sorted({*DEAL_PROPERTIES, *self.fields.values()})

    def line_properties(self) -> list[str]:
        return sorted({*LINE_PROPERTIES, *self.line_fields.values()})

    def link(self, deal_id: str) -> str | None:
        if not self.portal_id:
            return None
        return f"https://app.hubspot.com/contacts/{self.portal_id}/record/0-3/{deal_id}"


def props(record: dict[str, Any]) -> dict[str, Any]:
    return record.get("properties") or {}


def closed_won_data(deal: dict[str, Any], lines: list[dict[str, Any]],
                    companies: list[dict[str, Any]], terms: Terms) -> dict[str, Any]:
    """The ``deal.closed_won`` data of one deal, or ``MappingError`` naming it."""
    deal_id = str(deal["id"])
    p = props(deal)

    def refuse(reason: str) -> MappingError:
        return MappingError(VENDOR, "deal", deal_id, reason, terms.link(deal_id))

    pipeline, stage = str(p.get("pipeline") or ""), str(p.get("dealstage") or "")
    if stage not in terms.stages.get(pipeline, ()):
        raise refuse(f"stage {stage!r} of pipeline {pipeline!r} is not a configured closed-won "
                     "stage (settings closed_won_stages)")
    if not lines:
        raise refuse("a closed-won deal with no line items: add its products in HubSpot")
    company = _company(companies, refuse)
    currency = str(p.get("deal_currency_code") or terms.currency or "").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise refuse(f"no ISO currency: deal_currency_code is {p.get('deal_currency_code')!r} "
                     "and no default currency is configured (settings currency)")

    def term(name: str, kind: str = "text") -> Any:
        return _term(p, name, kind, terms.fields, terms, refuse)

    closed = _date_of(p.get("closedate"))
    start = term("start_date", "date") or closed
    if start is None:
        raise refuse("no contract start: closedate is empty and no start_date property is "
                     "configured")
    end = term("end_date", "date") or _end_of_term(start, int(term("term_months", "int")))
    billing_type = term("billing_type", "enum")
    contract: dict[str, Any] = {
        "number": term("contract_number") or f"HS-{deal_id}",
        "start_date": start.isoformat(), "end_date": end.isoformat(),
        "billing_type": billing_type,
        "payment_terms_days": term("payment_terms_days", "int"),
    }
    if not 0 <= contract["payment_terms_days"] <= 365:
        raise refuse(f"payment terms {contract['payment_terms_days']} days: 0 to 365")
    if service_line := term("service_line"):
        contract["service_line"] = service_line
    data: dict[str, Any] = {
        "deal_id": deal_id,
        "customer": _customer(company, terms, refuse),
        "legal_entity": term("legal_entity"),
        "tax_profile": term("tax_profile"),
        "currency": currency,
        "contract": contract,
        "lines": [_line(li, billing_type, terms, refuse)
                  for li in sorted(lines, key=lambda li: _id_key(li["id"]))],
        "project": {"code": term("project_code") or f"HS-{deal_id}",
                    "name": term("project_name") or p.get("dealname") or f"HubSpot deal {deal_id}",
                    "template": term("template", "enum")},
    }
    if (closed_at := moment(p.get("closedate"))) is not None:
        data["closed_at"] = rfc3339(closed_at)
    return data


def closed_won_event(deal: dict[str, Any], lines: list[dict[str, Any]],
                     companies: list[dict[str, Any]], terms: Terms, *,
                     source: str) -> dict[str, Any]:
    """The envelope: one id per deal version (deal id + ``hs_lastmodifieddate``), so a deal
    read again, or woken again by a duplicate webhook, is a duplicate in the inbox."""
    modified = version_of(deal)
    return envelope(source=source, etype="deal.closed_won", event_id=event_id(deal),
                    subject=f"deal/{deal['id']}", time=modified, sequence=epoch_ms(modified),
                    data=closed_won_data(deal, lines, companies, terms))


def version_of(deal: dict[str, Any]) -> datetime:
    """The deal's ``hs_lastmodifieddate`` (``updatedAt`` when the property is absent)."""
    found = moment(props(deal).get("hs_lastmodifieddate") or deal.get("updatedAt"))
    if found is None:
        raise MappingError(VENDOR, "deal", str(deal.get("id")), "no hs_lastmodifieddate")
    return found


def event_id(deal: dict[str, Any]) -> str:
    return record_version_id("hubspot-deal", str(deal["id"]), str(epoch_ms(version_of(deal))))


def moment(raw: Any) -> datetime | None:
    """A HubSpot datetime: ISO 8601 (``…Z``, with or without milliseconds) or epoch ms."""
    if raw is None or str(raw).strip() == "":
        return None
    text = str(raw).strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        return parse_time(text)
    except ValueError:
        return None


def _company(companies: list[dict[str, Any]], refuse: Any) -> dict[str, Any]:
    if not companies:
        raise refuse("no associated company: associate the customer's company with the deal")
    if len(companies) == 1:
        return companies[0]
    primary = [c for c in companies if c.get("primary")]
    if len(primary) != 1:
        ids = ", ".join(str(c["id"]) for c in companies)
        raise refuse(f"several companies ({ids}) and no single primary one")
    return primary[0]


def _customer(company: dict[str, Any], terms: Terms, refuse: Any) -> dict[str, Any]:
    c = props(company)
    name = str(c.get("name") or "").strip()
    if not name:
        raise refuse(f"company {company['id']} has no name")
    out: dict[str, Any] = {"external_id": str(company["id"]), "name": name}
    country = str(c.get("country") or "").strip()
    code = terms.country_codes.get(country) or (country.upper() if len(country) == 2 else None)
    if code and re.fullmatch(r"[A-Z]{2}", code):
        out["country"] = code  # a name not in country_codes is left out, not guessed
    return out


def _line(item: dict[str, Any], contract_kind: str, terms: Terms, refuse: Any) -> dict[str, Any]:
    p = props(item)
    line_id = str(item["id"])

    def term(name: str, kind: str) -> Any:
        return _term(p, name, kind, terms.line_fields, terms, refuse, where=f"line item {line_id}")

    kind = term("kind", "enum") if "kind" in terms.line_fields else contract_kind
    out: dict[str, Any] = {"line_id": line_id, "kind": kind,
                           "description": str(p.get("name") or "")}
    if kind != "time_and_materials":  # the schema: a T&M line has no amount
        if p.get("amount") in (None, ""):
            raise refuse(f"{kind} line item {line_id} has no amount")
        out["amount"] = _decimal(p["amount"], f"line item {line_id} amount", refuse)
    for name in ("estimated_hours", "estimated_cost", "recognition"):
        if name in terms.line_fields:
            out[name] = term(name, "enum" if name == "recognition" else "decimal")
    return out


def _term(p: dict[str, Any], name: str, kind: str, fields: dict[str, str], terms: Terms,
          refuse: Any, where: str = "deal") -> Any:
    """A term from its configured property (empty → refusal) or its default."""
    if name in fields:
        prop = fields[name]
        raw = p.get(prop)
        if raw is None or str(raw).strip() == "":
            raise refuse(f"{where}: property {prop} ({name}) is empty")
        label = f"{where} property {prop} ({name})"
        raw = terms.value_maps.get(name, {}).get(str(raw), raw)
    else:
        raw = terms.default(name) if name not in LINE_TERMS else None
        if raw is None:
            return None
        label = f"default {name}"
    if kind == "date":
        value = _date_of(raw)
        if value is None:
            raise refuse(f"{label} is not a date: {raw!r}")
        return value
    if kind == "int":
        number = _decimal(raw, label, refuse)
        if "." in number and Decimal(number) != Decimal(number).to_integral_value():
            raise refuse(f"{label} is not a whole number: {raw!r}")
        return int(Decimal(number))
    if kind == "decimal":
        return _decimal(raw, label, refuse)
    if kind == "enum":
        allowed = ENUMS[name]
        if str(raw) not in allowed:
            raise refuse(f"{label} is {raw!r}; expected one of {', '.join(allowed)} "
                         "(or map it in settings value_maps)")
    return str(raw)


def _decimal(raw: Any, label: str, refuse: Any) -> str:
    """A HubSpot number property (sent as a string) as a canonical decimal string."""
    if isinstance(raw, float):
        raise refuse(f"{label} arrived as a float {raw!r}; expected a decimal string")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise refuse(f"{label} is not a number: {raw!r}") from None
    text = format(value, "f")
    if not value.is_finite() or not _DECIMAL.match(text):
        raise refuse(f"{label} is not a number: {raw!r}")
    return text


def _date_of(raw: Any) -> date | None:
    """A HubSpot date: ``YYYY-MM-DD``, an ISO datetime, or epoch milliseconds (UTC)."""
    if raw is None or str(raw).strip() == "":
        return None
    text = str(raw).strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC).date()
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _end_of_term(start: date, months: int) -> date:
    """The last day of a term of ``months`` from ``start`` (12 from 1 Jul → 30 Jun)."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)


def _id_key(value: Any) -> tuple[int, str]:
    text = str(value)
    return (int(text), "") if text.isdigit() else (0, text)
