"""Build the revenue engine's input (a `RevenueContract`) from Syncline's stored facts.

One obligation per baseline contract line, measured from what the other flows record:
- time and materials → right to invoice: the billable amounts of approved time, by day;
- fixed fee with milestones → output method by milestones, weighted by their amounts,
  progress = accepted milestones; without milestones → input method by hours against the
  line's estimated hours, progress = approved hours on the project;
- retainer → ratable, monthly even, over the months the contract touches (as it is billed).
Invoices are the contract's released invoices, net of tax. Amendments (`contract.amended`)
become modifications, so the baseline is kept and the engine classifies each change.
Facts carry `recorded_at` (when Syncline received them) for "as known at" questions.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.revenue_tables import contract_amendments
from syncline.adapters.db.tables import (
    billable_items,
    contract_lines,
    contracts,
    customers,
    inbox,
    invoices,
    milestones,
    projects,
    time_entries,
    worker_versions,
)
from syncline.billing.retainers import RetainerTerms, month_start, next_month, prorated_fee
from syncline.ledger.money import Money
from syncline.revenue.model import (
    Actual,
    ActualKind,
    Convention,
    Estimate,
    Invoice,
    Method,
    MethodKind,
    Milestone,
    Modification,
    Obligation,
    ObligationChange,
    RevenueContract,
    RevenueError,
    Ssp,
    SspMethod,
)


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def retainer_consideration(fee: Decimal, currency: str, start: date, end: date) -> Decimal:
    """What the retainer's term will be billed: the billing engine's own proration of the
    first and last partial months, so revenue and billing agree on the total."""
    terms = RetainerTerms("-", Money(fee, currency), start, end)
    total = Decimal(0)
    month = month_start(start)
    while month <= end:
        fee_part = prorated_fee(terms, month)
        if fee_part is not None:
            total += fee_part[0].amount
        month = next_month(month)
    return total


def _obligation(kind: str, line_id: str, description: str, amount: Decimal | None,
                estimated_hours: Decimal | None, start: date, end: date,
                mstones: list[Any], currency: str,
                estimated_cost: Decimal | None = None) -> Obligation:
    if kind == "time_and_materials":
        return Obligation(line_id, description, Method(MethodKind.RIGHT_TO_INVOICE),
                          Ssp(SspMethod.OBSERVABLE, Decimal(0)), start, end)
    if kind == "retainer":
        total = retainer_consideration(amount or Decimal(0), currency, start, end)
        return Obligation(line_id, description,
                          Method(MethodKind.RATABLE, convention=Convention.MONTHLY_PRORATED),
                          Ssp(SspMethod.OBSERVABLE, total), start, end, price=total,
                          series=True)
    price = amount or Decimal(0)
    if mstones:
        method = Method(MethodKind.MILESTONES, milestones=tuple(
            Milestone(m.milestone_id, m.amount) for m in mstones))
    elif estimated_cost:
        method = Method(MethodKind.COST_TO_COST)
    elif estimated_hours:
        method = Method(MethodKind.HOURS)
    else:  # no milestones and no estimate to measure against: straight line over the term
        method = Method(MethodKind.RATABLE, convention=Convention.DAILY)
    return Obligation(line_id, description, method, Ssp(SspMethod.OBSERVABLE, price), start,
                      end, price=price)


def build_contract(conn: Connection, number: str) -> RevenueContract | None:
    head = conn.execute(select(contracts, customers.c.name.label("customer_name"))
                        .join(customers).where(contracts.c.number == number)).first()
    if head is None:
        return None
    start, end = date.fromisoformat(head.start_date), date.fromisoformat(head.end_date)
    amendments = conn.execute(select(contract_amendments).where(
        contract_amendments.c.contract_number == number)
        .order_by(contract_amendments.c.effective_date, contract_amendments.c.amendment_id)
    ).all()
    added_ids = {c["line_id"] for a in amendments for c in json.loads(a.payload)["changes"]
                 if c["action"] == "add_line"}
    mstones = conn.execute(select(milestones).where(milestones.c.contract_id == head.id)
                           .order_by(milestones.c.milestone_id)).all()
    lines = conn.execute(select(contract_lines).where(contract_lines.c.contract_id == head.id)
                         .order_by(contract_lines.c.line_id)).all()
    obligations = []
    for ln in lines:
        if ln.line_id in added_ids:
            continue
        obligations.append(_obligation(ln.kind, ln.line_id, ln.description, ln.amount,
                                       ln.estimated_hours, start, end,
                                       mstones if ln.kind == "fixed_fee" else [],
                                       head.currency, ln.estimated_cost))
    actuals: list[Actual] = []
    estimates: list[Estimate] = []
    tm_ids = [o.id for o in obligations if o.method.kind is MethodKind.RIGHT_TO_INVOICE]
    if tm_ids:
        earned: dict[str, Decimal] = {}
        for r in conn.execute(select(billable_items.c.service_date, billable_items.c.amount)
                              .where((billable_items.c.contract_number == number)
                                     & (billable_items.c.source == "time")
                                     & (billable_items.c.status != "reversed"))):
            earned[r.service_date] = earned.get(r.service_date, Decimal(0)) + r.amount
        actuals.extend(Actual(tm_ids[0], ActualKind.BILLABLE, date.fromisoformat(day), total)
                       for day, total in sorted(earned.items()))
    for ob in obligations:
        if ob.method.kind is MethodKind.MILESTONES:
            for m in mstones:
                if m.completed_on:
                    actuals.append(Actual(ob.id, ActualKind.MILESTONE,
                                          date.fromisoformat(m.completed_on), ref=m.milestone_id))
        if ob.method.kind in (MethodKind.HOURS, MethodKind.COST_TO_COST):
            line = next(x for x in lines if x.line_id == ob.id)
            by_cost = ob.method.kind is MethodKind.COST_TO_COST
            estimates.append(Estimate(ob.id, start, line.estimated_cost if by_cost
                                      else line.estimated_hours))
            actuals.extend(_progress(conn, head, ob.id, by_cost))
    invs = [Invoice(r.number, date.fromisoformat(r.invoice_date), r.subtotal,
                    due=date.fromisoformat(r.due_date))
            for r in conn.execute(select(invoices).where(invoices.c.contract_number == number)
                                  .order_by(invoices.c.number))]
    mods = [_modification(a, start, end, lines, head.currency) for a in amendments]
    actuals.sort(key=lambda a: (a.date, a.obligation_id, a.kind.value, a.ref))
    return RevenueContract(
        id=number, currency=head.currency, start=start, obligations=tuple(obligations),
        customer=head.customer_name, actuals=tuple(actuals), estimates=tuple(estimates),
        invoices=tuple(invs), modifications=tuple(mods))


def _progress(conn: Connection, head: Any, obligation_id: str, by_cost: bool) -> list[Actual]:
    """Approved hours on the contract's project, or their cost at the HR cost rate effective
    on each work date (cost-to-cost). A cost in another currency is refused, not mixed."""
    project = conn.execute(select(projects.c.code).where(
        projects.c.contract_id == head.id)).scalar()
    versions: dict[str, list[Any]] = {}
    if by_cost:
        for v in conn.execute(select(worker_versions).order_by(
                worker_versions.c.effective_date, worker_versions.c.sequence)):
            versions.setdefault(v.worker_id, []).append(v)
    out = []
    for t in conn.execute(select(time_entries.c.worker_id, time_entries.c.work_date,
                                 time_entries.c.hours, inbox.c.received_at)
                          .join(inbox, inbox.c.id == time_entries.c.inbox_id)
                          .where((time_entries.c.project_code == project)
                                 & (time_entries.c.status == "approved"))
                          .order_by(time_entries.c.work_date, time_entries.c.time_entry_id)):
        day, recorded = date.fromisoformat(t.work_date), _instant(t.received_at)
        if not by_cost:
            out.append(Actual(obligation_id, ActualKind.HOURS, day, t.hours,
                              recorded_at=recorded))
            continue
        effective = [v for v in versions.get(t.worker_id, ()) if v.effective_date <= t.work_date]
        if not effective:
            raise RevenueError(f"actuals.cost[{t.worker_id}]",
                               f"no HR cost rate for worker {t.worker_id} on {t.work_date}")
        rate = effective[-1]
        if rate.cost_currency != head.currency:
            raise RevenueError(f"actuals.cost[{t.worker_id}]",
                               f"cost in {rate.cost_currency} on a {head.currency} contract "
                               "needs an FX rate: cost-to-cost does not mix currencies")
        out.append(Actual(obligation_id, ActualKind.COST, day, t.hours * rate.cost_rate,
                          recorded_at=recorded))
    return out


def _modification(row: Any, start: date, end: date, lines: list[Any],
                  currency: str) -> Modification:
    data = json.loads(row.payload)
    effective = date.fromisoformat(row.effective_date)
    new_end = date.fromisoformat(data["end_date"]) if data.get("end_date") else None
    added: list[Obligation] = []
    changes: list[ObligationChange] = []
    priced: set[bool] = set()
    distinct: set[bool] = set()
    for c in data["changes"]:
        amount = Decimal(c["amount"]) if c.get("amount") is not None else None
        if "priced_at_ssp" in c:
            priced.add(bool(c["priced_at_ssp"]))
        if "distinct" in c:
            distinct.add(bool(c["distinct"]))
        if c["action"] == "add_line":
            hours = Decimal(c["estimated_hours"]) if c.get("estimated_hours") else None
            added.append(_obligation(c.get("kind", "fixed_fee"), c["line_id"],
                                     c.get("description", c["line_id"]), amount, hours,
                                     effective, new_end or end, [], currency))
        elif c["action"] == "change_price":
            old = next((ln.amount for ln in lines if ln.line_id == c["line_id"]), None)
            delta = (amount or Decimal(0)) - (old or Decimal(0))
            changes.append(ObligationChange(c["line_id"], price_delta=delta, new_end=new_end))
        elif c["action"] == "remove_line":
            changes.append(ObligationChange(c["line_id"], new_end=effective))
    return Modification(
        id=row.amendment_id, effective=effective, description=data.get("reason", ""),
        added=tuple(added), changes=tuple(changes),
        added_distinct=(distinct.pop() if len(distinct) == 1 else None),
        priced_at_ssp=(priced.pop() if len(priced) == 1 else None),
        recorded_at=_instant(row.recorded_at))


def contract_numbers(conn: Connection, until: date | None = None) -> list[str]:
    q = select(contracts.c.number).order_by(contracts.c.number)
    if until is not None:
        q = q.where(contracts.c.start_date <= until.isoformat())
    return [r.number for r in conn.execute(q)]


def contract_heads(conn: Connection) -> dict[str, Any]:
    return {r.number: r for r in conn.execute(select(contracts))}


