"""Canonical business objects and the commands that change them (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from syncline.ledger.money import Money


class BillingType(StrEnum):
    TIME_AND_MATERIALS = "time_and_materials"
    FIXED_FEE = "fixed_fee"
    RETAINER = "retainer"


SERVICE_LINE_BY_TEMPLATE = {
    "implementation": "implementation",
    "advisory": "consulting",
    "managed_service": "managed_services",
}


@dataclass(frozen=True, slots=True)
class ContractLine:
    line_id: str
    kind: BillingType
    description: str
    amount: Money | None  # fixed fee total, or retainer monthly fee
    estimated_hours: Decimal | None = None
    estimated_cost: Decimal | None = None
    recognition: str | None = None  # stated recognition method; None: its kind's default


# How a line may be recognised, chosen independently of how it is billed (the first listed
# is the method of a time-and-materials or retainer line that states none; a fixed fee's
# default depends on its milestones and estimates: services/revenue/facts.default_method).
RECOGNITION_METHODS: dict[str, tuple[str, ...]] = {
    "time_and_materials": ("right_to_invoice",),
    "fixed_fee": ("milestones", "hours", "cost_to_cost", "ratable"),
    "retainer": ("ratable", "hours", "cost_to_cost"),
}


def stated_recognition(line: object) -> str | None:
    """The method a deal or amendment line states: ``"hours"`` or ``{"method": "hours"}``."""
    value = line.get("recognition") if isinstance(line, dict) else None
    if isinstance(value, dict):
        value = value.get("method")
    return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class ContractRate:
    role: str
    rate: Money


@dataclass(frozen=True, slots=True)
class Milestone:
    milestone_id: str
    name: str
    amount: Money
    due_date: date | None


@dataclass(frozen=True, slots=True)
class Customer:
    external_id: str
    name: str
    country: str | None


@dataclass(frozen=True, slots=True)
class OpenContract:
    """Command from `deal.closed_won`: create customer, contract, project shell, billing rule."""

    deal_id: str
    customer: Customer
    entity_code: str
    tax_profile: str
    currency: str
    number: str
    start_date: date
    end_date: date
    billing_type: BillingType
    payment_terms_days: int
    lines: tuple[ContractLine, ...]
    rates: tuple[ContractRate, ...]
    milestones: tuple[Milestone, ...]
    project_code: str
    project_name: str
    template: str
    service_line: str


@dataclass(frozen=True, slots=True)
class UpsertWorker:
    worker_id: str
    name: str
    role: str
    entity_code: str
    cost_rate: Money
    status: str
    effective_date: date
    sequence: int


@dataclass(frozen=True, slots=True)
class TerminateWorker:
    worker_id: str
    termination_date: date


@dataclass(frozen=True, slots=True)
class RecordApprovedTime:
    time_entry_id: str
    worker_id: str
    project_code: str
    task_code: str
    work_date: date
    hours: Decimal
    role: str
    billable: bool
    approval_status: str


@dataclass(frozen=True, slots=True)
class ReverseTime:
    time_entry_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class EvidenceDocument:
    """A document that evidences delivery (a signed acceptance, a report): its name and where
    it lives, a URL or the sending system's document id (either may be missing for a legacy
    ``evidence.document``, which is only a name)."""

    name: str
    url: str | None = None
    document_id: str | None = None
    media_type: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("name", self.name), ("url", self.url),
                                  ("document_id", self.document_id),
                                  ("media_type", self.media_type)) if v}


@dataclass(frozen=True, slots=True)
class CompleteMilestone:
    milestone_id: str
    project_code: str
    completed_on: date
    accepted_by: str
    # the delivery evidence documents as sent (the legacy single ``evidence.document`` first)
    documents: tuple[EvidenceDocument, ...] = ()


Command = (
    OpenContract | UpsertWorker | TerminateWorker | RecordApprovedTime | ReverseTime
    | CompleteMilestone
)
