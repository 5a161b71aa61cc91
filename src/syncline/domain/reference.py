"""The firm's reference data (master data): legal entities, tax profiles, roles and their
default rates, dimensions (cost centers, service lines), WBS templates with task codes.

In production the ERP owns legal entities and tax profiles and HR owns roles; Syncline keeps a
validated copy to answer "is this deal's master data valid?" before anything moves. The firm
configures its own (a YAML file, SYNCLINE_MASTER_DATA, and ``PUT /v1/master-data``:
``domain/masterdata.py`` reads the document). The default firm below is what `syncline demo`
and the simulator use when nothing is configured (config/master-data.example.yaml is it,
written out). An inactive entry stays known (old contracts keep it) but new deals, projects
and time may not use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from syncline.ledger.money import Money


@dataclass(frozen=True, slots=True)
class LegalEntity:
    code: str
    name: str
    functional_currency: str
    country: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class TaxProfile:
    code: str
    jurisdiction: str
    rate: Decimal  # e.g. Decimal("0.20") for 20 % VAT
    label: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class WbsTaskTemplate:
    code: str
    name: str
    billable: bool = True


@dataclass(frozen=True, slots=True)
class ProjectTemplate:
    code: str
    name: str
    tasks: tuple[WbsTaskTemplate, ...]
    service_line: str = "consulting"  # a deal that states none books to this service line
    active: bool = True


COST_CENTER = "cost_center"
SERVICE_LINE = "service_line"
DIMENSION_KINDS: tuple[str, ...] = (COST_CENTER, SERVICE_LINE)


@dataclass(frozen=True, slots=True)
class Dimension:
    """One value of an analysis dimension (a cost center, a service line)."""

    kind: str  # one of DIMENSION_KINDS
    code: str
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class RoleRate:
    """A role's default hourly bill rate in one currency (the lowest-precedence rate)."""

    role: str
    rate: Money


LEGAL_ENTITIES: tuple[LegalEntity, ...] = (
    LegalEntity("US01", "Northwind Consulting Inc.", "USD", "US"),
    LegalEntity("GB01", "Northwind Consulting Ltd", "GBP", "GB"),
    LegalEntity("DE01", "Northwind Beratung GmbH", "EUR", "DE"),
)

TAX_PROFILES: tuple[TaxProfile, ...] = (
    TaxProfile("US-EXEMPT", "US", Decimal("0"), "Services not taxable"),
    TaxProfile("US-NY-SVC", "US-NY", Decimal("0.08875"), "NY sales tax on taxable services"),
    TaxProfile("GB-VAT-STD", "GB", Decimal("0.20"), "UK VAT standard rate"),
    TaxProfile("DE-VAT-STD", "DE", Decimal("0.19"), "German VAT standard rate"),
    TaxProfile("EU-REVERSE", "EU", Decimal("0"), "Reverse charge, customer accounts for VAT"),
)

ROLES: tuple[str, ...] = ("partner", "manager", "senior_consultant", "consultant", "analyst")

_DEFAULT_RATES = {
    "partner": "350", "manager": "250", "senior_consultant": "190",
    "consultant": "150", "analyst": "110",
}

ROLE_RATES: tuple[RoleRate, ...] = tuple(
    RoleRate(role, Money.of(amount, cur))
    for cur in ("USD", "GBP", "EUR")
    for role, amount in _DEFAULT_RATES.items()
)

PROJECT_TEMPLATES: tuple[ProjectTemplate, ...] = (
    ProjectTemplate("implementation", "Implementation", (
        WbsTaskTemplate("1", "Discovery"), WbsTaskTemplate("2", "Design"),
        WbsTaskTemplate("3", "Build"), WbsTaskTemplate("4", "Test"),
        WbsTaskTemplate("5", "Deploy"), WbsTaskTemplate("9", "Internal", billable=False),
    ), service_line="implementation"),
    ProjectTemplate("advisory", "Advisory", (
        WbsTaskTemplate("1", "Assessment"), WbsTaskTemplate("2", "Recommendations"),
        WbsTaskTemplate("9", "Internal", billable=False),
    ), service_line="consulting"),
    ProjectTemplate("managed_service", "Managed service", (
        WbsTaskTemplate("1", "Run"), WbsTaskTemplate("2", "Improve"),
        WbsTaskTemplate("9", "Internal", billable=False),
    ), service_line="managed_services"),
)

DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(COST_CENTER, "CC-100", "Delivery"),
    Dimension(COST_CENTER, "CC-200", "Advisory practice"),
    Dimension(COST_CENTER, "CC-900", "Internal and bench"),
    Dimension(SERVICE_LINE, "implementation", "Implementation"),
    Dimension(SERVICE_LINE, "consulting", "Consulting"),
    Dimension(SERVICE_LINE, "managed_services", "Managed services"),
)


@dataclass(frozen=True, slots=True)
class ReferenceData:
    entities: tuple[LegalEntity, ...] = LEGAL_ENTITIES
    tax_profiles: tuple[TaxProfile, ...] = TAX_PROFILES
    role_rates: tuple[RoleRate, ...] = ROLE_RATES
    templates: tuple[ProjectTemplate, ...] = PROJECT_TEMPLATES
    roles: tuple[str, ...] = ROLES
    dimensions: tuple[Dimension, ...] = DIMENSIONS
    # the firm waits for the PSA's project.activated (billing rule and legal entity approved)
    # before a project's time, expenses and milestones move (docs/master-data.md)
    activation_required: bool = False

    def entity(self, code: str) -> LegalEntity | None:
        return next((e for e in self.entities if e.code == code), None)

    def tax_profile(self, code: str) -> TaxProfile | None:
        return next((t for t in self.tax_profiles if t.code == code), None)

    def template(self, code: str) -> ProjectTemplate | None:
        return next((t for t in self.templates if t.code == code), None)

    def dimension(self, kind: str, code: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.kind == kind and d.code == code), None)


DEFAULT_REFERENCE = ReferenceData()
