"""The master-data document: the firm's reference data as plain data (the YAML file's parsed
form, or the JSON body of ``PUT /v1/master-data``), read into ``ReferenceData`` and written
back. Pure: no file, no database.

Document shape (config/master-data.example.yaml)::

    legal_entities: [{code, name, functional_currency, country, active?}]
    tax_profiles:   [{code, jurisdiction, rate: "0.20", label, active?}]
    roles:          [partner, manager, …]
    role_rates:     {USD: {partner: "350", …}, …}    # default hourly bill rate per currency
    dimensions:
      cost_centers:  [{code, name, active?}]
      service_lines: [{code, name, active?}]
    wbs_templates:  [{code, name, service_line, active?, tasks: [{code, name, billable?}]}]

Rules: every section is required (an empty list is allowed but for legal_entities); codes are
unique in their section (task codes in their template); a currency is ISO 4217, a country two
capital letters; a tax rate is a decimal written as text (a float is refused: "0.1" is not
0.1000000000000000055…) from 0 up to 1; a role rate is a positive decimal as text or an
integer, for a listed role; a template's service line is a listed service line. Every
problem is named with its place (``tax_profiles[2].rate``); nothing half-loads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from syncline.domain.reference import (
    COST_CENTER,
    SERVICE_LINE,
    Dimension,
    LegalEntity,
    ProjectTemplate,
    ReferenceData,
    RoleRate,
    TaxProfile,
    WbsTaskTemplate,
)
from syncline.ledger.money import Money, is_known_currency

SECTIONS = ("legal_entities", "tax_profiles", "roles", "role_rates", "dimensions",
            "wbs_templates")
OPTIONAL = ("project_activation",)  # required | optional (the default)
ACTIVATION = ("required", "optional")
DIMENSION_SECTIONS = {"cost_centers": COST_CENTER, "service_lines": SERVICE_LINE}
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class MasterDataProblem:
    where: str  # "tax_profiles[2].rate", "wbs_templates[0].tasks[3].code", …
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class _Reader:
    """Collects problems while reading one document."""

    def __init__(self) -> None:
        self.problems: list[MasterDataProblem] = []

    def bad(self, where: str, message: str) -> None:
        self.problems.append(MasterDataProblem(where, message))

    def items(self, data: Mapping[str, Any], key: str, where: str | None = None
              ) -> list[tuple[str, Mapping[str, Any]]]:
        """The mappings of the list ``data[key]``, each with its place."""
        where = where or key
        raw = data.get(key)
        if not isinstance(raw, list):
            self.bad(where, f"must be a list, got {type(raw).__name__}")
            return []
        out = []
        for i, item in enumerate(raw):
            if isinstance(item, Mapping):
                out.append((f"{where}[{i}]", item))
            else:
                self.bad(f"{where}[{i}]", "must be a mapping")
        return out

    def code(self, item: Mapping[str, Any], at: str, seen: set[str], key: str = "code") -> str:
        value = item.get(key)
        if not isinstance(value, str) or not _CODE.match(value):
            self.bad(f"{at}.{key}", "needs a code (letters, digits, _ . : -; at most 40 "
                     f"characters), got {value!r}")
            return ""
        if value in seen:
            self.bad(f"{at}.{key}", f"{value!r} is listed twice")
        seen.add(value)
        return value

    def text(self, item: Mapping[str, Any], at: str, key: str) -> str:
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            self.bad(f"{at}.{key}", f"needs a non-empty text, got {value!r}")
            return ""
        return value

    def flag(self, item: Mapping[str, Any], at: str, key: str, default: bool = True) -> bool:
        value = item.get(key, default)
        if not isinstance(value, bool):
            self.bad(f"{at}.{key}", f"must be true or false, got {value!r}")
            return default
        return value

    def unknown_keys(self, item: Mapping[str, Any], at: str, known: tuple[str, ...]) -> None:
        for key in item:
            if key not in known:
                self.bad(f"{at}.{key}" if at else str(key),
                         f"is not a master-data field (expected {', '.join(known)})")


def decimal_text(value: object) -> Decimal | None:
    """A decimal written as text or an integer ("0.20", 350); floats are refused."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        made = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return made if made.is_finite() else None


def reference_from_dict(data: object) -> ReferenceData | tuple[MasterDataProblem, ...]:
    """The firm's ``ReferenceData`` from a master-data document, or every problem found."""
    r = _Reader()
    if not isinstance(data, Mapping):
        return (MasterDataProblem("(document)", "must be a mapping of the sections "
                                  + ", ".join(SECTIONS)),)
    r.unknown_keys(data, "", (*SECTIONS, *OPTIONAL))
    activation = data.get("project_activation", "optional")
    if activation not in ACTIVATION:
        r.bad("project_activation", f"must be {' or '.join(ACTIVATION)}, got {activation!r}")
    entities = _entities(r, data)
    profiles = _tax_profiles(r, data)
    roles, rates = _roles(r, data)
    dimensions = _dimensions(r, data)
    lines = {d.code for d in dimensions if d.kind == SERVICE_LINE}
    templates = _templates(r, data, lines)
    if r.problems:
        return tuple(r.problems)
    return ReferenceData(entities=entities, tax_profiles=profiles, role_rates=rates,
                         templates=templates, roles=roles, dimensions=dimensions,
                         activation_required=activation == "required")


def _entities(r: _Reader, data: Mapping[str, Any]) -> tuple[LegalEntity, ...]:
    seen: set[str] = set()
    out = []
    for at, item in r.items(data, "legal_entities"):
        r.unknown_keys(item, at, ("code", "name", "functional_currency", "country", "active"))
        code, name = r.code(item, at, seen), r.text(item, at, "name")
        currency, country = item.get("functional_currency"), item.get("country")
        if not isinstance(currency, str) or not is_known_currency(currency):
            r.bad(f"{at}.functional_currency", f"needs an ISO 4217 code, got {currency!r}")
        if not isinstance(country, str) or not _COUNTRY.match(country):
            r.bad(f"{at}.country", f"needs an ISO 3166 two-letter code, got {country!r}")
        out.append(LegalEntity(code, name, str(currency), str(country),
                               r.flag(item, at, "active")))
    if not out and isinstance(data.get("legal_entities"), list):
        r.bad("legal_entities", "needs at least one legal entity")
    return tuple(out)


def _tax_profiles(r: _Reader, data: Mapping[str, Any]) -> tuple[TaxProfile, ...]:
    seen: set[str] = set()
    out = []
    for at, item in r.items(data, "tax_profiles"):
        r.unknown_keys(item, at, ("code", "jurisdiction", "rate", "label", "active"))
        code = r.code(item, at, seen)
        jurisdiction, label = r.text(item, at, "jurisdiction"), r.text(item, at, "label")
        rate = decimal_text(item.get("rate"))
        if rate is None or not Decimal(0) <= rate < Decimal(1):
            r.bad(f"{at}.rate", "needs a decimal as text from 0 up to 1 (\"0.20\" for 20 %), "
                  f"got {item.get('rate')!r}")
        out.append(TaxProfile(code, jurisdiction, rate or Decimal(0), label,
                              r.flag(item, at, "active")))
    return tuple(out)


def _roles(r: _Reader, data: Mapping[str, Any]
           ) -> tuple[tuple[str, ...], tuple[RoleRate, ...]]:
    raw = data.get("roles")
    roles: list[str] = []
    if not isinstance(raw, list):
        r.bad("roles", f"must be a list of role codes, got {type(raw).__name__}")
    else:
        seen: set[str] = set()
        for i, role in enumerate(raw):
            roles.append(r.code({"code": role}, f"roles[{i}]", seen).strip())
    rates: list[RoleRate] = []
    by_currency = data.get("role_rates")
    if not isinstance(by_currency, Mapping):
        r.bad("role_rates", "must map a currency to {role: rate}")
        return tuple(roles), ()
    for currency, table in by_currency.items():
        at = f"role_rates.{currency}"
        if not isinstance(currency, str) or not is_known_currency(currency):
            r.bad(at, "is not an ISO 4217 currency code")
            continue
        if not isinstance(table, Mapping):
            r.bad(at, "must map a role to its rate (\"150\")")
            continue
        for role, value in table.items():
            amount = decimal_text(value)
            if role not in roles:
                r.bad(f"{at}.{role}", "is not a listed role (roles)")
            elif amount is None or amount <= 0:
                r.bad(f"{at}.{role}", f"needs a positive decimal as text, got {value!r}")
            else:
                rates.append(RoleRate(str(role), Money.of(amount, currency)))
    return tuple(roles), tuple(rates)


def _dimensions(r: _Reader, data: Mapping[str, Any]) -> tuple[Dimension, ...]:
    raw = data.get("dimensions")
    if not isinstance(raw, Mapping):
        r.bad("dimensions", "must map cost_centers and service_lines to lists")
        return ()
    r.unknown_keys(raw, "dimensions", tuple(DIMENSION_SECTIONS))
    out = []
    for section, kind in DIMENSION_SECTIONS.items():
        seen: set[str] = set()
        for at, item in r.items(raw, section, f"dimensions.{section}"):
            r.unknown_keys(item, at, ("code", "name", "active"))
            out.append(Dimension(kind, r.code(item, at, seen), r.text(item, at, "name"),
                                 r.flag(item, at, "active")))
    return tuple(out)


def _templates(r: _Reader, data: Mapping[str, Any], lines: set[str]
               ) -> tuple[ProjectTemplate, ...]:
    seen: set[str] = set()
    out = []
    for at, item in r.items(data, "wbs_templates"):
        r.unknown_keys(item, at, ("code", "name", "service_line", "active", "tasks"))
        code, name = r.code(item, at, seen), r.text(item, at, "name")
        line = item.get("service_line")
        if line not in lines:
            r.bad(f"{at}.service_line", f"{line!r} is not a listed service line "
                  "(dimensions.service_lines)")
        task_codes: set[str] = set()
        tasks = []
        for t_at, task in r.items(item, "tasks", f"{at}.tasks"):
            r.unknown_keys(task, t_at, ("code", "name", "billable"))
            tasks.append(WbsTaskTemplate(r.code(task, t_at, task_codes),
                                         r.text(task, t_at, "name"),
                                         r.flag(task, t_at, "billable")))
        if not tasks and isinstance(item.get("tasks"), list):
            r.bad(f"{at}.tasks", "needs at least one task")
        out.append(ProjectTemplate(code, name, tuple(tasks), str(line),
                                   r.flag(item, at, "active")))
    return tuple(out)


def reference_to_dict(ref: ReferenceData) -> dict[str, Any]:
    """The master-data document of ``ref`` (JSON-ready: decimals as text);
    ``reference_from_dict`` reads it back to an equal ``ReferenceData``."""
    rates: dict[str, dict[str, str]] = {}
    for rr in ref.role_rates:
        rates.setdefault(rr.rate.currency, {})[rr.role] = str(rr.rate.amount)
    policy = {"project_activation": "required"} if ref.activation_required else {}
    return policy | {
        "legal_entities": [
            {"code": e.code, "name": e.name, "functional_currency": e.functional_currency,
             "country": e.country, "active": e.active} for e in ref.entities],
        "tax_profiles": [
            {"code": t.code, "jurisdiction": t.jurisdiction, "rate": str(t.rate),
             "label": t.label, "active": t.active} for t in ref.tax_profiles],
        "roles": list(ref.roles),
        "role_rates": rates,
        "dimensions": {
            section: [{"code": d.code, "name": d.name, "active": d.active}
                      for d in ref.dimensions if d.kind == kind]
            for section, kind in DIMENSION_SECTIONS.items()},
        "wbs_templates": [
            {"code": t.code, "name": t.name, "service_line": t.service_line,
             "active": t.active,
             "tasks": [{"code": k.code, "name": k.name, "billable": k.billable}
                       for k in t.tasks]} for t in ref.templates],
    }
