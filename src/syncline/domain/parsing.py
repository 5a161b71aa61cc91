"""Map v1 event data (already schema-valid) to canonical commands, or to problems.

Pure: checks that need only the message and the reference data live here; checks that need
current state (is the project known? is the worker terminated?) live in the handlers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.domain.master_checks import (
    dimension_problem,
    entity_problem,
    tax_profile_problem,
    template_problem,
)
from syncline.domain.model import (
    RECOGNITION_METHODS,
    SERVICE_LINE_BY_TEMPLATE,
    BillingType,
    CompleteMilestone,
    ContractLine,
    ContractRate,
    Customer,
    EvidenceDocument,
    Milestone,
    OpenContract,
    RecordApprovedTime,
    ReverseTime,
    TerminateWorker,
    UpsertWorker,
    stated_recognition,
)
from syncline.domain.reference import SERVICE_LINE, ReferenceData
from syncline.ledger.money import Money, is_known_currency

Data = Mapping[str, Any]


def _finance(code: str, message: str, remediation: str, field: str, deal_id: str) -> Problem:
    return Problem(code=code, domain=BusinessDomain.FINANCE, message=message,
                   remediation=remediation, field=field, objects=(("deal", deal_id),))


def parse_deal(data: Data, ref: ReferenceData) -> OpenContract | list[Problem]:
    deal_id = str(data["deal_id"])
    problems: list[Problem] = []
    entity_code = data.get("legal_entity")
    deal_objects = (("deal", deal_id),)
    if not entity_code:
        problems.append(_finance(
            "deal.missing_legal_entity", f"deal {deal_id} has no legal entity",
            "Set the contracting legal entity on the opportunity in the CRM, then re-send the "
            "deal (or edit and replay this message).", "data.legal_entity", deal_id))
    elif (bad := entity_problem(ref, str(entity_code), flow="deal", field="data.legal_entity",
                                objects=deal_objects)) is not None:
        problems.append(bad)
    tax = data.get("tax_profile")
    if not tax:
        problems.append(_finance(
            "deal.missing_tax_profile", f"deal {deal_id} has no tax profile",
            "Ask the tax team to assign the customer's tax profile in the CRM account, then "
            "replay.", "data.tax_profile", deal_id))
    elif (bad := tax_profile_problem(ref, str(tax), flow="deal", field="data.tax_profile",
                                     objects=deal_objects)) is not None:
        problems.append(bad)
    currency = str(data["currency"])
    if not is_known_currency(currency):
        problems.append(_finance(
            "deal.unknown_currency",
            f"currency {currency!r} is not an ISO 4217 code Syncline knows",
            "Correct the deal currency in the CRM (e.g. USD, GBP, EUR) and replay.",
            "data.currency", deal_id))
    project = data["project"]
    if (bad := template_problem(ref, str(project["template"]), flow="deal",
                                field="data.project.template", objects=deal_objects)) is not None:
        problems.append(bad)
    contract = data["contract"]
    if contract.get("service_line") and (bad := dimension_problem(
            ref, SERVICE_LINE, str(contract["service_line"]), flow="deal",
            field="data.contract.service_line", objects=deal_objects)) is not None:
        problems.append(bad)
    start = date.fromisoformat(contract["start_date"])
    end = date.fromisoformat(contract["end_date"])
    if end < start:
        problems.append(_finance(
            "deal.dates_inverted", f"contract ends ({end}) before it starts ({start})",
            "Correct the contract dates in the CPQ quote.", "data.contract.end_date", deal_id))
    if problems:
        return problems

    def money(value: str) -> Money:
        return Money.of(value, currency)

    lines = tuple(
        ContractLine(
            line_id=ln["line_id"], kind=BillingType(ln["kind"]), description=ln["description"],
            amount=money(ln["amount"]) if ln.get("amount") is not None else None,
            estimated_hours=Decimal(ln["estimated_hours"]) if ln.get("estimated_hours") else None,
            estimated_cost=Decimal(ln["estimated_cost"]) if ln.get("estimated_cost") else None,
            recognition=stated_recognition(ln),
        )
        for ln in data["lines"]
    )
    billing_type = BillingType(contract["billing_type"])
    for i, ln in enumerate(lines):
        allowed = RECOGNITION_METHODS[ln.kind.value]
        if ln.recognition is not None and ln.recognition not in allowed:
            return [_finance(
                "deal.recognition_invalid", f"{ln.kind} line {ln.line_id} cannot be "
                f"recognised by {ln.recognition!r} (allowed: {', '.join(allowed)})",
                "Correct the line's recognition method in the CPQ quote and replay.",
                f"data.lines[{i}].recognition", deal_id)]
        if ln.kind is not BillingType.TIME_AND_MATERIALS and ln.amount is None:
            return [_finance(
                "deal.line_without_amount", f"{ln.kind} line {ln.line_id} has no amount",
                "Fixed-fee and retainer lines need an amount; correct the quote and replay.",
                f"data.lines[{i}].amount", deal_id)]
    return OpenContract(
        deal_id=deal_id,
        customer=Customer(data["customer"]["external_id"], data["customer"]["name"],
                          data["customer"].get("country")),
        entity_code=str(entity_code), tax_profile=str(tax), currency=currency,
        number=contract["number"], start_date=start, end_date=end, billing_type=billing_type,
        payment_terms_days=int(contract.get("payment_terms_days", 30)),
        lines=lines,
        rates=tuple(ContractRate(r["role"], money(r["rate"])) for r in data.get("rates", ())),
        milestones=tuple(
            Milestone(m["milestone_id"], m["name"], money(m["amount"]),
                      date.fromisoformat(m["due_date"]) if m.get("due_date") else None)
            for m in data.get("milestones", ())
        ),
        project_code=project["code"], project_name=project["name"], template=project["template"],
        service_line=contract.get("service_line") or _template_line(ref, project["template"]),
    )


def _template_line(ref: ReferenceData, template: str) -> str:
    """The service line of a deal that states none: its template's (master data)."""
    found = ref.template(template)
    return found.service_line if found else SERVICE_LINE_BY_TEMPLATE.get(template, "consulting")


def parse_worker(data: Data, sequence: int) -> UpsertWorker | list[Problem]:
    cost = data["cost_rate"]
    if not is_known_currency(cost["currency"]):
        return [Problem("worker.unknown_currency", BusinessDomain.HR,
                        f"cost rate currency {cost['currency']!r} is unknown",
                        "Correct the worker's cost rate currency in the HRIS.",
                        "data.cost_rate.currency", objects=(("worker", data["worker_id"]),))]
    return UpsertWorker(
        worker_id=data["worker_id"], name=data["name"], role=data["role"],
        entity_code=data["legal_entity"], cost_rate=Money.of(cost["amount"], cost["currency"]),
        status=data["status"], effective_date=date.fromisoformat(data["effective_date"]),
        sequence=sequence,
    )


def parse_termination(data: Data) -> TerminateWorker:
    return TerminateWorker(data["worker_id"], date.fromisoformat(data["termination_date"]))


def time_objects(data: Data) -> tuple[tuple[str, str], ...]:
    """The objects a problem with an approved time entry names."""
    return (("time_entry", data["time_entry_id"]), ("project", data["project_code"]),
            ("worker", data["worker_id"]))


def parse_time(data: Data) -> RecordApprovedTime | list[Problem]:
    entry_id = data["time_entry_id"]
    if data["approval_status"] != "approved":
        return [Problem(
            "time.not_approved", BusinessDomain.PMO,
            f"time entry {entry_id} has approval status {data['approval_status']!r}, "
            "only approved time is billed",
            "Have the project manager approve (or reject) the timesheet in the PSA; the "
            "approval event will flow through on its own.", "data.approval_status",
            severity=Severity.MEDIUM, objects=time_objects(data))]
    hours = Decimal(data["hours"])
    if hours <= 0 or hours > 24 or hours.as_tuple().exponent < -2:  # type: ignore[operator]
        return [Problem(
            "time.bad_hours", BusinessDomain.PMO,
            f"time entry {entry_id} has {hours} hours (expected more than 0, at most 24, "
            "two decimals)", "Correct the hours in the PSA and re-approve.", "data.hours",
            objects=time_objects(data))]
    return RecordApprovedTime(
        time_entry_id=entry_id, worker_id=data["worker_id"], project_code=data["project_code"],
        task_code=data["task_code"], work_date=date.fromisoformat(data["work_date"]),
        hours=hours, role=data["role"], billable=bool(data.get("billable", True)),
        approval_status=data["approval_status"],
    )


def parse_time_rejection(data: Data) -> ReverseTime:
    return ReverseTime(data["time_entry_id"], data.get("reason") or "rejected")


def parse_milestone(data: Data) -> CompleteMilestone:
    evidence = data["evidence"]
    documents = [EvidenceDocument(str(evidence["document"]))] if evidence.get("document") else []
    documents += [EvidenceDocument(str(d["name"]), d.get("url"), d.get("document_id"),
                                   d.get("media_type")) for d in evidence.get("documents", ())]
    return CompleteMilestone(
        milestone_id=data["milestone_id"], project_code=data["project_code"],
        completed_on=date.fromisoformat(data["completed_on"]),
        accepted_by=evidence["accepted_by"], documents=tuple(documents),
    )
