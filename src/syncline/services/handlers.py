"""One short handler per inbound event type; `HANDLERS` is the table of contents.

Each handler maps the event's data to a canonical command (pure parsing in `domain`), checks
what needs state, writes the state changes and outbox rows on the batch's connection, and
returns an outcome. Handlers are idempotent on natural keys, so a replay changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update

from syncline.adapters.db.tables import (
    billable_items,
    contract_lines,
    contract_rates,
    contracts,
    customers,
    milestones,
    projects,
    time_entries,
    wbs_tasks,
    worker_versions,
    workers,
    xref,
)
from syncline.billing.items import BillableItem, ItemStatus, milestone_item, time_item
from syncline.billing.rates import RateNotFound, billed_quantity
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.domain.model import BillingType, OpenContract
from syncline.domain.parsing import (
    parse_deal,
    parse_milestone,
    parse_termination,
    parse_time,
    parse_time_rejection,
    parse_worker,
)
from syncline.ledger.money import Money
from syncline.services.billing_reversal import reverse_origin
from syncline.services.exceptions import raise_exception
from syncline.services.ids import new_id
from syncline.services.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.unit_of_work import Batch, Handler


def _xref(b: Batch, system: str, object_type: str, external_id: str, syncline_id: str) -> None:
    b.conn.execute(xref.insert().values(system=system, object_type=object_type,
                                        external_id=external_id, syncline_id=syncline_id))


# --- deal.closed_won ---------------------------------------------------------------------------
def open_contract(b: Batch, data: Mapping[str, Any]) -> Outcome:
    cmd = parse_deal(data, b.ref)
    if isinstance(cmd, list):
        return Failed(tuple(cmd))
    if b.conn.execute(select(contracts.c.id).where(contracts.c.deal_id == cmd.deal_id)).first():
        return Applied(note="contract already open (idempotent)")
    clash = b.conn.execute(select(contracts.c.deal_id).where(
        contracts.c.number == cmd.number)).first()
    pclash = b.conn.execute(
        select(projects.c.id).where(projects.c.code == cmd.project_code)).first()
    if clash or pclash:
        return Failed((Problem(
            "deal.duplicate_number", BusinessDomain.FINANCE,
            f"contract number {cmd.number} or project code {cmd.project_code} is already used "
            "by another deal", "Give the deal a unique contract number / project code in CPQ.",
            "data.contract.number", objects=(("deal", cmd.deal_id),)),))
    customer_id = _ensure_customer(b, cmd)
    contract_id = new_id("ctr")
    b.conn.execute(contracts.insert().values(
        id=contract_id, number=cmd.number, deal_id=cmd.deal_id, customer_id=customer_id,
        entity_code=cmd.entity_code, tax_profile=cmd.tax_profile, currency=cmd.currency,
        start_date=cmd.start_date.isoformat(), end_date=cmd.end_date.isoformat(),
        billing_type=cmd.billing_type.value, payment_terms_days=cmd.payment_terms_days,
        service_line=cmd.service_line, version=1, correlation_id=b.correlation_id))
    _xref(b, "crm", "deal", cmd.deal_id, contract_id)
    if cmd.lines:
        b.conn.execute(contract_lines.insert(), [
            {"contract_id": contract_id, "line_id": ln.line_id, "kind": ln.kind.value,
             "description": ln.description,
             "amount": ln.amount.amount if ln.amount else None,
             "estimated_hours": ln.estimated_hours, "estimated_cost": ln.estimated_cost}
            for ln in cmd.lines])
    if cmd.rates:
        b.conn.execute(contract_rates.insert(), [
            {"contract_id": contract_id, "role": r.role, "rate": r.rate.amount,
             "currency": r.rate.currency} for r in cmd.rates])
    if cmd.milestones:
        b.conn.execute(milestones.insert(), [
            {"id": new_id("mil"), "milestone_id": m.milestone_id, "contract_id": contract_id,
             "name": m.name, "amount": m.amount.amount,
             "due_date": m.due_date.isoformat() if m.due_date else None}
            for m in cmd.milestones])
    project_id = new_id("prj")
    b.conn.execute(projects.insert().values(
        id=project_id, code=cmd.project_code, name=cmd.project_name, contract_id=contract_id,
        template=cmd.template, status="provisioning"))
    _xref(b, "psa", "project", cmd.project_code, project_id)
    template = b.ref.template(cmd.template)
    assert template is not None  # parse_deal checked it
    b.conn.execute(wbs_tasks.insert(), [
        {"project_id": project_id, "code": t.code, "name": t.name, "billable": t.billable}
        for t in template.tasks])
    _provision(b, cmd, customer_id, contract_id, project_id)
    return Applied(provides=(f"project:{cmd.project_code}", f"deal:{cmd.deal_id}"))


def _ensure_customer(b: Batch, cmd: OpenContract) -> str:
    row = b.conn.execute(select(customers.c.id).where(
        customers.c.external_id == cmd.customer.external_id)).first()
    if row is not None:
        return str(row.id)
    customer_id = new_id("cus")
    b.conn.execute(customers.insert().values(
        id=customer_id, external_id=cmd.customer.external_id, name=cmd.customer.name,
        country=cmd.customer.country))
    _xref(b, "crm", "account", cmd.customer.external_id, customer_id)
    return customer_id


def _provision(b: Batch, cmd: OpenContract, customer_id: str, contract_id: str,
               project_id: str) -> None:
    """Outbox rows of the provisioning saga: ERP customer → PSA project → billing rule."""
    group = f"provision:{cmd.deal_id}"
    b.emit("erp.customer.upsert", "erp", {
        "customer_id": customer_id, "external_id": cmd.customer.external_id,
        "name": cmd.customer.name, "country": cmd.customer.country,
        "legal_entity": cmd.entity_code, "tax_profile": cmd.tax_profile,
        "currency": cmd.currency}, group)
    template = b.ref.template(cmd.template)
    b.emit("psa.project.provision", "psa", {
        "project_id": project_id, "code": cmd.project_code, "name": cmd.project_name,
        "contract_number": cmd.number, "start_date": cmd.start_date.isoformat(),
        "end_date": cmd.end_date.isoformat(),
        "wbs": [{"code": t.code, "name": t.name, "billable": t.billable}
                for t in (template.tasks if template else ())]}, group)
    budget = sum((ln.amount.amount for ln in cmd.lines if ln.amount is not None), start=0)
    b.emit("psa.budget.update", "psa", {
        "project_id": project_id, "code": cmd.project_code, "contract_id": contract_id,
        "billing_type": cmd.billing_type.value, "currency": cmd.currency,
        "budget": str(budget),
        "rates": {r.role: str(r.rate.amount) for r in cmd.rates}}, group)


# --- workers -------------------------------------------------------------------------------------
def upsert_worker(b: Batch, data: Mapping[str, Any]) -> Outcome:
    seq = b.sequence or 0
    cmd = parse_worker(data, seq)
    if isinstance(cmd, list):
        return Failed(tuple(cmd))
    exists_version = b.conn.execute(select(worker_versions.c.sequence).where(
        (worker_versions.c.worker_id == cmd.worker_id) & (worker_versions.c.sequence == seq)
    )).first()
    if exists_version is None:
        b.conn.execute(worker_versions.insert().values(
            worker_id=cmd.worker_id, sequence=seq, effective_date=cmd.effective_date.isoformat(),
            role=cmd.role, entity_code=cmd.entity_code, cost_rate=cmd.cost_rate.amount,
            cost_currency=cmd.cost_rate.currency))
    row = b.conn.execute(select(workers).where(workers.c.worker_id == cmd.worker_id)).first()
    fields = {"name": cmd.name, "role": cmd.role, "entity_code": cmd.entity_code,
              "last_sequence": seq}
    if row is None:
        worker_key = new_id("wkr")
        b.conn.execute(workers.insert().values(
            id=worker_key, worker_id=cmd.worker_id, status=cmd.status, **fields))
        _xref(b, "hris", "worker", cmd.worker_id, worker_key)
        return Applied(provides=(f"worker:{cmd.worker_id}",))
    if seq <= row.last_sequence:
        return Applied(note=f"older version {seq} kept in history; current is {row.last_sequence}")
    status = "terminated" if row.termination_date else cmd.status
    b.conn.execute(update(workers).where(workers.c.id == row.id).values(status=status, **fields))
    return Applied()


def terminate_worker(b: Batch, data: Mapping[str, Any]) -> Outcome:
    cmd = parse_termination(data)
    row = b.conn.execute(select(workers).where(workers.c.worker_id == cmd.worker_id)).first()
    if row is None:
        return Parked(Missing(f"worker:{cmd.worker_id}", f"worker {cmd.worker_id} not synced yet"))
    b.conn.execute(update(workers).where(workers.c.id == row.id).values(
        status="terminated", termination_date=cmd.termination_date.isoformat()))
    # Time after the last day that arrived before the termination is reversed, one exception each.
    late = b.conn.execute(select(time_entries).where(
        (time_entries.c.worker_id == cmd.worker_id)
        & (time_entries.c.work_date > cmd.termination_date.isoformat())
        & (time_entries.c.status == "approved"))).all()
    for entry in late:
        _reverse_entry(b, entry.time_entry_id, f"time entry {entry.time_entry_id} is after "
                       f"worker {cmd.worker_id}'s last day {cmd.termination_date}")
        raise_exception(b.conn, _after_termination(entry.time_entry_id, cmd.worker_id,
                                                   entry.work_date, cmd.termination_date),
                        now=b.now, inbox_id=entry.inbox_id, correlation_id=b.correlation_id)
    return Applied()


def _after_termination(entry_id: str, worker_id: str, work_date: str | date,
                       last_day: date | str) -> Problem:
    return Problem(
        "time.after_termination", BusinessDomain.HR,
        f"time entry {entry_id} on {work_date} is after worker {worker_id}'s last day "
        f"({last_day})", "HR and the project manager confirm the worker's dates; correct the "
        "termination date in the HRIS or reject the time in the PSA.", "data.work_date",
        objects=(("time_entry", entry_id), ("worker", worker_id)))


# --- time --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TimeDecision:
    outcome: Outcome
    time_row: dict[str, Any] | None = None
    item: BillableItem | None = None


def decide_time(b: Batch, data: Mapping[str, Any], worker: Any | None,
                recorded: bool) -> TimeDecision:
    """What an approved time entry comes to; writes nothing (the caller does, one or many)."""
    cmd = parse_time(data)
    if isinstance(cmd, list):
        return TimeDecision(Failed(tuple(cmd)))
    if recorded:
        return TimeDecision(Applied(note="time entry already recorded (idempotent)"))
    found = b.project(cmd.project_code)
    if found is None:
        return TimeDecision(Parked(Missing(f"project:{cmd.project_code}",
                                           f"project {cmd.project_code} is not provisioned yet")))
    proj, tasks = found
    if worker is None:
        return TimeDecision(Parked(Missing(f"worker:{cmd.worker_id}",
                                           f"worker {cmd.worker_id} is not synced from HR yet")))
    objects = (("time_entry", cmd.time_entry_id), ("project", cmd.project_code),
               ("worker", cmd.worker_id))
    if worker.termination_date and cmd.work_date.isoformat() > worker.termination_date:
        return TimeDecision(Failed((_after_termination(
            cmd.time_entry_id, cmd.worker_id, cmd.work_date, worker.termination_date),)))
    if proj.closed_on and cmd.work_date.isoformat() > proj.closed_on:
        return TimeDecision(Failed((project_closed(
            cmd.time_entry_id, cmd.project_code, cmd.work_date, proj.closed_on),)))
    if cmd.task_code not in tasks:
        return TimeDecision(Failed((Problem(
            "time.unknown_task", BusinessDomain.PMO,
            f"task {cmd.task_code} is not in project {cmd.project_code}'s WBS",
            "Book the time to a WBS task of the project in the PSA and re-approve.",
            "data.task_code", objects=objects),)))
    item: BillableItem | None = None
    billable = cmd.billable and tasks[cmd.task_code]
    if billable and proj.billing_type == BillingType.TIME_AND_MATERIALS.value:
        book = b.rates(proj.contract_id, proj.currency, proj.number, proj.customer_key)
        rate = book.price(cmd.role, cmd.work_date)
        if isinstance(rate, RateNotFound):
            return TimeDecision(Failed((rate_missing(rate, proj.number, objects),)))
        item = time_item(cmd.time_entry_id, proj.number, cmd.work_date,
                         billed_quantity(cmd.hours, rate), cmd.role, rate.rate,
                         rate.entry.scope.name.lower(), rate_card=rate.card.label)
    row = {"id": new_id("tim"), "time_entry_id": cmd.time_entry_id,
           "worker_id": cmd.worker_id, "project_code": cmd.project_code,
           "task_code": cmd.task_code, "work_date": cmd.work_date.isoformat(),
           "hours": cmd.hours, "role": cmd.role, "billable": billable, "status": "approved",
           "inbox_id": b.inbox_id}
    return TimeDecision(Applied(provides=(f"time:{cmd.time_entry_id}",)), row, item)


def project_closed(entry_id: str, project_code: str, work_date: date | str,
                   closed_on: date | str) -> Problem:
    return Problem(
        "billing.project_closed", BusinessDomain.BILLING,
        f"time entry {entry_id} on {work_date} is after project {project_code} was closed "
        f"({closed_on})", "Reopen the project in the PSA or move the time to an open project, "
        "then replay this message.", "data.work_date",
        objects=(("time_entry", entry_id), ("project", project_code)))


def rate_missing(missing: RateNotFound, contract_number: str,
                 objects: tuple[tuple[str, str], ...]) -> Problem:
    return Problem(
        "billing.rate_missing", BusinessDomain.BILLING, missing.message,
        f"Publish a {missing.role} rate in {missing.currency} effective {missing.on} on "
        f"contract {contract_number}'s rate card (or its customer's or the default card: "
        "rate_card.published), then replay this message.", "data.role", objects=objects)


def _worker_row(b: Batch, worker_id: str) -> Any | None:
    return b.conn.execute(select(workers.c.worker_id, workers.c.termination_date).where(
        workers.c.worker_id == worker_id)).first()


def record_time(b: Batch, data: Mapping[str, Any]) -> Outcome:
    recorded = b.conn.execute(select(time_entries.c.id).where(
        time_entries.c.time_entry_id == data["time_entry_id"])).first() is not None
    decision = decide_time(b, data, _worker_row(b, data["worker_id"]), recorded)
    if decision.time_row is not None:
        b.conn.execute(time_entries.insert().values(**decision.time_row))
    if decision.item is not None:
        _insert_item(b, decision.item)
    return decision.outcome


def record_time_set(b: Batch, messages: list[tuple[str, Mapping[str, Any]]]) -> list[Outcome]:
    """Approved time as a set: two look-ups for the whole set, then bulk inserts.

    Same decisions as `record_time`, message by message, in order (a repeated entry id is
    idempotent within the set as across sets).
    """
    ids = [str(d["time_entry_id"]) for _, d in messages]
    recorded: set[str] = set()
    for start in range(0, len(ids), 500):
        recorded.update(r.time_entry_id for r in b.conn.execute(
            select(time_entries.c.time_entry_id).where(
                time_entries.c.time_entry_id.in_(ids[start:start + 500]))))
    wids = sorted({str(d["worker_id"]) for _, d in messages})
    known = {r.worker_id: r for r in b.conn.execute(
        select(workers.c.worker_id, workers.c.termination_date).where(
            workers.c.worker_id.in_(wids)))}
    outcomes: list[Outcome] = []
    time_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    for inbox_id, data in messages:
        b.inbox_id = inbox_id
        decision = decide_time(b, data, known.get(data["worker_id"]),
                               str(data["time_entry_id"]) in recorded)
        if decision.time_row is not None:
            time_rows.append(decision.time_row)
            recorded.add(decision.time_row["time_entry_id"])
        if decision.item is not None:
            item_rows.append(_item_row(decision.item))
        outcomes.append(decision.outcome)
    if time_rows:
        b.conn.execute(time_entries.insert(), time_rows)
    if item_rows:
        b.conn.execute(billable_items.insert(), item_rows)
    return outcomes


def _item_row(item: BillableItem) -> dict[str, Any]:
    return {"key": item.key, "contract_number": item.contract_number,
            "source": item.source.value, "service_date": item.service_date.isoformat(),
            "description": item.description, "quantity": item.quantity,
            "unit_price": item.unit_price.amount, "currency": item.unit_price.currency,
            "amount": item.amount.amount, "rate_scope": item.rate_scope,
            "rate_card": item.rate_card or None, "role": item.role or None,
            "status": ItemStatus.GENERATED.value, "invoice_number": None}


def _insert_item(b: Batch, item: BillableItem) -> None:
    b.conn.execute(billable_items.insert().values(**_item_row(item)))


def _reverse_entry(b: Batch, time_entry_id: str, reason: str) -> list[str]:
    """Reverse a time entry and its open items; invoiced items get a credit request.
    Returns the invoices concerned."""
    b.conn.execute(update(time_entries).where(
        time_entries.c.time_entry_id == time_entry_id).values(status="reversed"))
    return reverse_origin(b.conn, f"time:{time_entry_id}", reason, now=b.now,
                          inbox_id=b.inbox_id)


def reverse_time(b: Batch, data: Mapping[str, Any]) -> Outcome:
    cmd = parse_time_rejection(data)
    entry = b.conn.execute(select(time_entries.c.status).where(
        time_entries.c.time_entry_id == cmd.time_entry_id)).first()
    if entry is None:
        return Parked(Missing(f"time:{cmd.time_entry_id}",
                              f"time entry {cmd.time_entry_id} has not been approved here yet"))
    if entry.status == "reversed":
        return Applied(note="already reversed")
    invoiced = _reverse_entry(b, cmd.time_entry_id,
                              f"time entry {cmd.time_entry_id} rejected: {cmd.reason}")
    return Applied(note=f"credit requested on {', '.join(invoiced)}" if invoiced else "")


# --- milestones --------------------------------------------------------------------------------
def complete_milestone(b: Batch, data: Mapping[str, Any]) -> Outcome:
    cmd = parse_milestone(data)
    found = b.project(cmd.project_code)
    if found is None:
        return Parked(Missing(f"project:{cmd.project_code}",
                              f"project {cmd.project_code} is not provisioned yet"))
    proj, _ = found
    row = b.conn.execute(select(milestones).where(
        (milestones.c.milestone_id == cmd.milestone_id)
        & (milestones.c.contract_id == proj.contract_id))).first()
    if row is None:
        return Failed((Problem(
            "milestone.unknown", BusinessDomain.PMO,
            f"milestone {cmd.milestone_id} is not on contract {proj.number}",
            "Link the PSA milestone to a contract milestone (CPQ) and replay.",
            "data.milestone_id", objects=(("milestone", cmd.milestone_id),)),))
    if row.completed_on:
        return Applied(note="milestone already completed")
    b.conn.execute(update(milestones).where(milestones.c.id == row.id).values(
        completed_on=cmd.completed_on.isoformat(), accepted_by=cmd.accepted_by))
    if proj.billing_type == BillingType.FIXED_FEE.value:
        _insert_item(b, milestone_item(cmd.milestone_id, row.name, proj.number,
                                       cmd.completed_on, Money(row.amount, proj.currency)))
    return Applied(provides=(f"milestone:{cmd.milestone_id}",))


CORE_HANDLERS: dict[str, Handler] = {
    "deal.closed_won": open_contract,
    "worker.upserted": upsert_worker,
    "worker.terminated": terminate_worker,
    "time.approved": record_time,
    "time.rejected": reverse_time,
    "milestone.completed": complete_milestone,
}

# Types whose state is versioned per subject: an older sequence is recorded, never applied over
# newer state. Worker history is kept by its handler (effective-dated cost rates).
SEQUENCED_STATE = {"deal.closed_won", "milestone.completed"}



def _all_handlers() -> dict[str, Handler]:
    """The table of contents: core flows plus each engine's own handler table."""
    table = dict(CORE_HANDLERS)
    for module in ("syncline.services.billing_handlers", "syncline.services.revenue_handlers",
                   "syncline.services.adjustment_handlers"):
        try:
            mod = __import__(module, fromlist=["HANDLERS"])
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
            continue
        table.update(mod.HANDLERS)
    return table


HANDLERS: dict[str, Handler] = _all_handlers()
