"""Is a message's master data the firm's? Pure checks of codes against ``ReferenceData``,
and the parsing of the master-data events (``customer.upserted``, ``project.activated``).

A code the firm does not have is ``<flow>.unknown_<what>``; a code it has but marked inactive
is ``<flow>.inactive_<what>``: an inactive entry stays known (what used it keeps it) but no
new deal, customer, project or time may use it. Each problem names the field and the object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from syncline.domain.errors import BusinessDomain, Problem
from syncline.domain.reference import DIMENSION_KINDS, ReferenceData

Objects = tuple[tuple[str, str], ...]


def _problem(flow: str, what: str, state: str, message: str, remediation: str, field: str,
             objects: Objects, domain: BusinessDomain) -> Problem:
    return Problem(f"{flow}.{state}_{what}", domain, message, remediation, field,
                   objects=objects)


def entity_problem(ref: ReferenceData, code: str, *, flow: str, field: str,
                   objects: Objects) -> Problem | None:
    entity = ref.entity(code)
    if entity is None:
        return _problem(flow, "legal_entity", "unknown",
                        f"legal entity {code!r} is not in the ERP",
                        "Use an ERP legal entity code, or create the entity in the ERP first "
                        "(and in Syncline's master data: docs/master-data.md).", field,
                        objects, BusinessDomain.FINANCE)
    if not entity.active:
        return _problem(flow, "legal_entity", "inactive",
                        f"legal entity {code} ({entity.name}) is inactive",
                        "Contract through an active legal entity, or reactivate this one in "
                        "the master data (PUT /v1/master-data), then replay.", field,
                        objects, BusinessDomain.FINANCE)
    return None


def tax_profile_problem(ref: ReferenceData, code: str, *, flow: str, field: str,
                        objects: Objects) -> Problem | None:
    profile = ref.tax_profile(code)
    if profile is None:
        return _problem(flow, "tax_profile", "unknown", f"tax profile {code!r} is not configured",
                        "Configure the tax profile in the ERP or correct it on the deal.",
                        field, objects, BusinessDomain.FINANCE)
    if not profile.active:
        return _problem(flow, "tax_profile", "inactive",
                        f"tax profile {code} ({profile.label}) is inactive",
                        "Ask the tax team for the profile that applies now, correct it in the "
                        "source system, then replay.", field, objects, BusinessDomain.FINANCE)
    return None


def template_problem(ref: ReferenceData, code: str, *, flow: str, field: str,
                     objects: Objects) -> Problem | None:
    template = ref.template(code)
    if template is None:
        return _problem(flow, "template", "unknown", f"project template {code!r} is unknown",
                        "Pick one of the PSA project templates.", field, objects,
                        BusinessDomain.PMO)
    if not template.active:
        return _problem(flow, "template", "inactive", f"project template {code} is inactive",
                        "Pick an active PSA project template, then replay.", field, objects,
                        BusinessDomain.PMO)
    return None


def dimension_problem(ref: ReferenceData, kind: str, code: str, *, flow: str, field: str,
                      objects: Objects) -> Problem | None:
    label = kind.replace("_", " ")
    found = ref.dimension(kind, code)
    if found is None:
        return _problem(flow, "dimension", "unknown", f"{label} {code!r} is not configured",
                        f"Use a {label} of the master data (GET /v1/master-data), or add it "
                        "there first, then replay.", field, objects, BusinessDomain.FINANCE)
    if not found.active:
        return _problem(flow, "dimension", "inactive",
                        f"{label} {code} ({found.name}) is inactive",
                        f"Book to an active {label}, or reactivate it in the master data, "
                        "then replay.", field, objects, BusinessDomain.FINANCE)
    return None


def dimensions_problems(ref: ReferenceData, dims: Mapping[str, Any] | None, *, flow: str,
                        field: str, objects: Objects) -> list[Problem]:
    """Every stated dimension (``{cost_center: CC-100, service_line: consulting}``) checked."""
    found = []
    for kind in DIMENSION_KINDS:
        code = (dims or {}).get(kind)
        if code is not None:
            problem = dimension_problem(ref, kind, str(code), flow=flow,
                                        field=f"{field}.{kind}", objects=objects)
            if problem is not None:
                found.append(problem)
    return found


@dataclass(frozen=True, slots=True)
class UpsertCustomer:
    external_id: str
    name: str
    country: str | None
    billing_email: str | None
    entity_code: str | None
    tax_profile: str | None
    active: bool


def parse_customer(data: Mapping[str, Any], ref: ReferenceData
                   ) -> UpsertCustomer | list[Problem]:
    """customer.upserted: the customer's legal entity and tax profile, when stated, must be
    the firm's and active (an inactive customer may keep an inactive one)."""
    key = str(data["external_id"])
    objects: Objects = (("customer", key),)
    active = bool(data.get("active", True))
    problems = []
    if data.get("legal_entity") and active:
        problems.append(entity_problem(ref, str(data["legal_entity"]), flow="customer",
                                       field="data.legal_entity", objects=objects))
    if data.get("tax_profile") and active:
        problems.append(tax_profile_problem(ref, str(data["tax_profile"]), flow="customer",
                                            field="data.tax_profile", objects=objects))
    found = [p for p in problems if p is not None]
    if found:
        return found
    return UpsertCustomer(key, str(data["name"]), data.get("country"),
                          data.get("billing_email"), data.get("legal_entity"),
                          data.get("tax_profile"), active)


@dataclass(frozen=True, slots=True)
class ActivateProject:
    code: str
    name: str
    template: str
    customer_external_id: str
    entity_code: str
    start_date: date
    cost_center: str | None
    service_line: str | None
    billing_type: str | None = None  # the billing rule the PSA approved, when it says


def parse_project_activation(data: Mapping[str, Any], ref: ReferenceData
                             ) -> ActivateProject | list[Problem]:
    """project.activated: its template, legal entity and dimensions must be the firm's and
    active."""
    code = str(data["project_code"])
    objects: Objects = (("project", code),)
    dims = data.get("dimensions") or {}
    found = [p for p in (
        template_problem(ref, str(data["template"]), flow="project", field="data.template",
                         objects=objects),
        entity_problem(ref, str(data["legal_entity"]), flow="project",
                       field="data.legal_entity", objects=objects),
    ) if p is not None]
    found += dimensions_problems(ref, dims, flow="project", field="data.dimensions",
                                 objects=objects)
    if found:
        return found
    return ActivateProject(code, str(data["name"]), str(data["template"]),
                           str(data["customer_external_id"]), str(data["legal_entity"]),
                           date.fromisoformat(data["start_date"]), dims.get("cost_center"),
                           dims.get("service_line"), data.get("billing_type"))
