"""deal.closed_won: open the contract, its customer and project, with billing terms; provision
downstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, exists, select

from syncline.adapters.db.billing_tables import (
    billing_caps,
    contract_billing_terms,
)
from syncline.adapters.db.tables import (
    contract_lines,
    contract_rates,
    contracts,
    customers,
    milestones,
    projects,
    wbs_tasks,
    xref,
)
from syncline.billing.expenses import (
    ExpensePolicy,
)
from syncline.billing.retainers import AdvanceConvention, RetainerKind
from syncline.domain.errors import BusinessDomain, Problem
from syncline.domain.model import Customer, OpenContract
from syncline.domain.parsing import (
    parse_deal,
)
from syncline.services.handlers.common import insert_xref, record_xref, record_xrefs
from syncline.services.ids import new_id
from syncline.services.messaging.bulk import insert_rows
from syncline.services.messaging.outcomes import Applied, Failed, Outcome
from syncline.services.messaging.unit_of_work import Batch
from syncline.services.xref import linked_id

# Built once (a deal runs them).
_BY_NUMBER = select(contracts.c.deal_id).where(contracts.c.number == bindparam("n"))


def _link(system: str, object_type: str, key: str) -> Any:
    return and_(xref.c.system == system, xref.c.object_type == object_type,
                xref.c.external_id == bindparam(key))


_ACCOUNT = select(xref.c.syncline_id).where(_link("crm", "account", "k")).scalar_subquery()
# Is the deal open, its number or its project code taken? And what a deal that opens reads
# before it writes (nothing it writes first changes them): its CRM account's link and
# customer (`ensure_customer`), whether its deal and project links are there
# (`record_xrefs`). One statement.
_KNOWN = select(
    exists().where(contracts.c.deal_id == bindparam("d")),
    exists().where(contracts.c.number == bindparam("n")),
    exists().where(projects.c.code == bindparam("c")),
    _ACCOUNT.label("linked"),
    select(customers.c.id).where(customers.c.id == _ACCOUNT).scalar_subquery().label(
        "linked_customer"),
    select(customers.c.id).where(customers.c.external_id == bindparam("k"))
    .scalar_subquery().label("keyed_customer"),
    exists().where(_link("crm", "deal", "d")).label("deal_linked"),
    exists().where(_link("psa", "project", "c")).label("project_linked"))
_TERMS = select(contract_billing_terms.c.contract_number).where(
    contract_billing_terms.c.contract_number == bindparam("n"))
_CUSTOMER = select(customers.c.id).where(customers.c.id == bindparam("i"))
_CUSTOMER_BY_KEY = select(customers.c.id).where(customers.c.external_id == bindparam("k"))


def open_contract(b: Batch, data: Mapping[str, Any]) -> Outcome:
    return opened_contract(b, data)[0]


def opened_contract(b: Batch, data: Mapping[str, Any]) -> tuple[Outcome, bool]:
    """`open_contract`'s outcome, and whether this message opened the contract (then its
    number was free until now, and nothing hangs on it yet: no billing terms, no stated
    recognition, both written only once their contract is)."""
    cmd = parse_deal(data, b.ref)
    if isinstance(cmd, list):
        return Failed(tuple(cmd)), False
    opened, clash, pclash, linked, linked_customer, keyed_customer, deal_linked, \
        project_linked = b.conn.execute(_KNOWN, {
            "d": cmd.deal_id, "n": cmd.number, "c": cmd.project_code,
            "k": cmd.customer.external_id}).one()
    if opened:
        return Applied(note="contract already open (idempotent)"), False
    if clash or pclash:
        return Failed((Problem(
            "deal.duplicate_number", BusinessDomain.FINANCE,
            f"contract number {cmd.number} or project code {cmd.project_code} is already used "
            "by another deal", "Give the deal a unique contract number / project code in CPQ.",
            "data.contract.number", objects=(("deal", cmd.deal_id),)),)), False
    customer_id = ensure_customer(b, cmd.customer, read=(linked, linked_customer
                                                         if linked is not None
                                                         else keyed_customer))
    contract_id = new_id("ctr")
    insert_rows(b.conn, contracts, [dict(
        id=contract_id, number=cmd.number, deal_id=cmd.deal_id, customer_id=customer_id,
        entity_code=cmd.entity_code, tax_profile=cmd.tax_profile, currency=cmd.currency,
        start_date=cmd.start_date.isoformat(), end_date=cmd.end_date.isoformat(),
        billing_type=cmd.billing_type.value, payment_terms_days=cmd.payment_terms_days,
        service_line=cmd.service_line, version=1, correlation_id=b.correlation_id)])
    if cmd.lines:
        insert_rows(b.conn, contract_lines, [
            {"contract_id": contract_id, "line_id": ln.line_id, "kind": ln.kind.value,
             "description": ln.description,
             "amount": ln.amount.amount if ln.amount else None,
             "estimated_hours": ln.estimated_hours, "estimated_cost": ln.estimated_cost}
            for ln in cmd.lines])
    if cmd.rates:
        insert_rows(b.conn, contract_rates, [
            {"contract_id": contract_id, "role": r.role, "rate": r.rate.amount,
             "currency": r.rate.currency} for r in cmd.rates])
    if cmd.milestones:
        insert_rows(b.conn, milestones, [
            {"id": new_id("mil"), "milestone_id": m.milestone_id, "contract_id": contract_id,
             "name": m.name, "amount": m.amount.amount,
             "due_date": m.due_date.isoformat() if m.due_date else None}
            for m in cmd.milestones])
    project_id = new_id("prj")
    insert_rows(b.conn, projects, [dict(
        id=project_id, code=cmd.project_code, name=cmd.project_name, contract_id=contract_id,
        template=cmd.template, status="provisioning")])
    record_xrefs(b, (("crm", "deal", cmd.deal_id, contract_id),
                     ("psa", "project", cmd.project_code, project_id)), found={
        link for link, there in ((("crm", "deal", cmd.deal_id), deal_linked),
                                 (("psa", "project", cmd.project_code), project_linked))
        if there})
    template = b.ref.template(cmd.template)
    assert template is not None  # parse_deal checked it
    insert_rows(b.conn, wbs_tasks, [
        {"project_id": project_id, "code": t.code, "name": t.name, "billable": t.billable}
        for t in template.tasks])
    b.emit_all((*_provision(b, cmd, customer_id, contract_id, project_id),  # (one statement)
                ("crm.status.update", "crm", {  # the CRM shows what became of its deal
                    "deal_id": cmd.deal_id, "status": "booked",
                    "detail": f"contract {cmd.number}, project {cmd.project_code}"}, None)))
    return Applied(provides=(f"project:{cmd.project_code}", f"deal:{cmd.deal_id}")), True


def ensure_customer(b: Batch, customer: Customer,
                    read: tuple[str | None, str | None] | None = None) -> str:
    """The Syncline id of the customer with this external id — the one its CRM account is
    linked to (services/xref.py: a repaired link wins), else the one created with that id —
    created (with its cross-reference) on first sight; an existing one is left as it is.
    ``read``: the account's link and the id of the customer found by it (by the external id
    when there is no link), read already in this transaction (`_KNOWN`)."""
    if read is not None:
        linked, found = read
    else:
        linked = linked_id(b.conn, "crm", "account", customer.external_id)
        row = b.conn.execute(_CUSTOMER, {"i": linked}).first() if linked is not None else \
            b.conn.execute(_CUSTOMER_BY_KEY, {"k": customer.external_id}).first()
        found = None if row is None else row.id
    if found is not None:
        return str(found)
    customer_id = new_id("cus")
    insert_rows(b.conn, customers, [dict(
        id=customer_id, external_id=customer.external_id, name=customer.name,
        country=customer.country)])
    if linked is None:  # (read above: no link to keep)
        insert_xref(b, "crm", "account", customer.external_id, customer_id)
    else:
        record_xref(b, "crm", "account", customer.external_id, customer_id)
    return customer_id


def _provision(b: Batch, cmd: OpenContract, customer_id: str, contract_id: str,
               project_id: str) -> tuple[tuple[str, str, dict[str, Any], str], ...]:
    """Outbox messages of the provisioning saga (`Batch.emit_all`'s): ERP customer → PSA
    project → billing rule."""
    group = f"provision:{cmd.deal_id}"
    template = b.ref.template(cmd.template)
    budget = sum((ln.amount.amount for ln in cmd.lines if ln.amount is not None), start=0)
    return (
        ("erp.customer.upsert", "erp", {
            "customer_id": customer_id, "external_id": cmd.customer.external_id,
            "name": cmd.customer.name, "country": cmd.customer.country,
            "legal_entity": cmd.entity_code, "tax_profile": cmd.tax_profile,
            "currency": cmd.currency}, group),
        ("psa.project.provision", "psa", {
            "project_id": project_id, "code": cmd.project_code, "name": cmd.project_name,
            "contract_number": cmd.number, "start_date": cmd.start_date.isoformat(),
            "end_date": cmd.end_date.isoformat(),
            "wbs": [{"code": t.code, "name": t.name, "billable": t.billable}
                    for t in (template.tasks if template else ())]}, group),
        ("psa.budget.update", "psa", {
            "project_id": project_id, "code": cmd.project_code, "contract_id": contract_id,
            "billing_type": cmd.billing_type.value, "currency": cmd.currency,
            "budget": str(budget),
            "rates": {r.role: str(r.rate.amount) for r in cmd.rates}}, group))


# --- billing terms on the deal ---------------------------------------------------------------

def parse_terms(number: str, currency: str, terms: Mapping[str, Any]
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The deal's ``billing_terms`` as rows; ValueError / KeyError when they are invalid."""
    expense = terms.get("expenses") or {}
    retainer = terms.get("retainer") or {}
    timing = str(retainer.get("timing", "arrears"))
    if timing not in ("advance", "arrears"):
        raise ValueError(f"retainer timing {timing!r} is not advance or arrears")
    kind = RetainerKind(str(retainer.get("kind", RetainerKind.MONTHLY.value)))
    convention = AdvanceConvention(str(retainer.get("convention",
                                                    AdvanceConvention.NEXT_MONTH.value)))
    hours = retainer.get("block_hours") if kind is RetainerKind.PREPAID_BLOCK \
        else retainer.get("included_hours")
    if kind is RetainerKind.PREPAID_BLOCK and (hours is None or Decimal(str(hours)) <= 0):
        raise ValueError("a prepaid block needs block_hours > 0")
    row = {
        "contract_number": number,
        "expense_policy": ExpensePolicy(expense.get("policy", "at_cost")).value,
        "markup_percent": Decimal(str(expense.get("markup_percent", "0"))),
        "retainer_timing": timing,
        "included_hours": Decimal(str(hours)) if hours is not None else None,
        "overage_rate": Decimal(str(retainer["overage_rate"]))
        if retainer.get("overage_rate") is not None else None,
        "retainer_kind": None if kind is RetainerKind.MONTHLY else kind.value,
        "advance_convention": None if convention is AdvanceConvention.NEXT_MONTH
        else convention.value}
    caps = []
    for i, cap in enumerate(terms.get("caps") or (), 1):
        scope, kind = str(cap.get("scope", "contract")), str(cap.get("kind", "hard"))
        if scope not in ("contract", "budget", "line") or kind not in ("soft", "hard"):
            raise ValueError(f"cap {i}: scope {scope!r} / kind {kind!r} unknown")
        caps.append({
            "cap_id": str(cap.get("cap_id") or f"NTE-{number}-{i}"), "contract_number": number,
            "scope": scope, "scope_key": str(cap.get("scope_key") or number),
            "limit_amount": Decimal(str(cap["limit"])), "currency": currency, "kind": kind,
            "tolerance": Decimal(str(cap.get("tolerance", "0"))), "billed": Decimal(0)})
    return row, caps


def open_contract_with_terms(b: Batch, data: Mapping[str, Any]) -> Outcome:
    return opened_with_terms(b, data)[0]


def opened_with_terms(b: Batch, data: Mapping[str, Any]) -> tuple[Outcome, bool]:
    """`open_contract_with_terms`' outcome, and whether this message opened the contract
    (`opened_contract`)."""
    terms = data.get("billing_terms")
    if not isinstance(terms, Mapping):
        return opened_contract(b, data)
    number = str(data["contract"]["number"])
    try:
        row, caps = parse_terms(number, str(data["currency"]), terms)
    except (ValueError, KeyError, ArithmeticError) as bad:
        return Failed((Problem(
            "deal.billing_terms_invalid", BusinessDomain.FINANCE,
            f"deal {data['deal_id']}: billing terms are invalid ({bad})",
            "Correct the billing terms (expense policy, retainer timing, kind and convention, "
            "prepaid block hours, caps) in CPQ and "
            "replay the deal.", "data.billing_terms", objects=(("deal", str(data["deal_id"])),)),
        )), False
    outcome, fresh = opened_contract(b, data)
    if not fresh and (not isinstance(outcome, Applied)
                      or b.conn.execute(_TERMS, {"n": number}).first()
                      or not owns(b, number, data)):
        return outcome, fresh
    insert_rows(b.conn, contract_billing_terms, [row])
    if caps:
        insert_rows(b.conn, billing_caps, caps)
    return outcome, fresh


def owns(b: Batch, number: str, data: Mapping[str, Any]) -> bool:
    """Whether contract ``number`` is the deal's (not another deal's, nor missing)."""
    head = b.conn.execute(_BY_NUMBER, {"n": number}).first()
    return head is not None and head.deal_id == str(data["deal_id"])
