"""Build the revenue engine's input (a `RevenueContract`) from Syncline's stored facts.

One obligation per contract line; its *recognition* method is the one the deal (or the
amendment adding the line) states, chosen independently of how the line is billed, else the
default of its billing kind (`default_method`):

- time and materials: right to invoice (the only method);
- fixed fee: milestones, hours, cost to cost or ratable; by default milestones when the
  contract has some, else cost to cost with an estimated cost, else hours with estimated
  hours, else ratable (daily);
- retainer: ratable as billed (the default), hours or cost to cost.

Progress: the right to invoice is what is billable (`billable`); hours and costs are the
project's approved time against the estimate at completion in force (`progress`), the line's
own estimate from its start then each `estimate.revised`; milestones weighted by their
amounts; rebilled expenses are their own right-to-invoice obligation `expenses`. Invoices
and credit notes are what was billed, net of tax. Amendments (`contract.amended`) become
modifications, so the baseline is kept and the engine classifies each change; an added line
is measured like any other from its effective date. Facts carry `recorded_at` (when
Syncline received them) for "as known at" questions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import contracts
from syncline.billing.amendments import contract_end
from syncline.billing.retainers import RetainerTerms, month_start, next_month, prorated_fee
from syncline.ledger.money import Money
from syncline.revenue.model import (
    Actual,
    ActualKind,
    Convention,
    Estimate,
    Method,
    MethodKind,
    Milestone,
    Modification,
    Obligation,
    ObligationChange,
    RevenueContract,
    Ssp,
    SspMethod,
)
from syncline.services.revenue.billable import EXPENSES, as_actuals, billable_by_day, documents
from syncline.services.revenue.blocks import block_actuals, block_of
from syncline.services.revenue.progress import (
    Measured,
    ProjectTime,
    instant,
    line_estimates,
)
from syncline.services.revenue.reads import ContractFacts, load_facts


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


def default_method(kind: str, has_milestones: bool, estimated_hours: Decimal | None,
                   estimated_cost: Decimal | None) -> str:
    """The method of a line that states none (as measured before lines could state one)."""
    if kind == "time_and_materials":
        return "right_to_invoice"
    if kind == "retainer":
        return "ratable"
    if has_milestones:
        return "milestones"
    if estimated_cost:
        return "cost_to_cost"
    return "hours" if estimated_hours else "ratable"


def _obligation(kind: str, line_id: str, description: str, amount: Decimal | None,
                start: date, end: date, mstones: list[Any], currency: str,
                method_name: str) -> Obligation:
    if kind == "time_and_materials":
        return Obligation(line_id, description, Method(MethodKind.RIGHT_TO_INVOICE),
                          Ssp(SspMethod.OBSERVABLE, Decimal(0)), start, end)
    if kind == "retainer":
        price = retainer_consideration(amount or Decimal(0), currency, start, end)
    else:
        price = amount or Decimal(0)
    if method_name == "milestones":
        method = Method(MethodKind.MILESTONES, milestones=tuple(
            Milestone(m.milestone_id, m.amount) for m in mstones))
    elif method_name == "cost_to_cost":
        method = Method(MethodKind.COST_TO_COST)
    elif method_name == "hours":
        method = Method(MethodKind.HOURS)
    elif kind == "retainer":  # as billed: part months by time, whole months evenly
        method = Method(MethodKind.RATABLE, convention=Convention.MONTHLY_PRORATED)
    else:  # straight line over the term
        method = Method(MethodKind.RATABLE, convention=Convention.DAILY)
    return Obligation(line_id, description, method, Ssp(SspMethod.OBSERVABLE, price), start,
                      end, price=price, series=kind == "retainer")


def build_contract(conn: Connection, number: str, proposed: Sequence[Any] = (),
                   facts: ContractFacts | None = None) -> RevenueContract | None:
    """The revenue contract of ``number`` from its stored facts; ``proposed``: amendments not
    recorded, shaped as ``contract_amendments`` rows (a what-if: they are read like the
    recorded ones and stored nowhere). ``facts``: the contract's facts already read
    (`reads.load_facts`, many contracts at once), else they are read here."""
    if facts is None:
        facts = load_facts(conn, [number]).get(number)
        if facts is None:
            return None
    head = facts.head
    start, end = date.fromisoformat(head.start_date), date.fromisoformat(head.end_date)
    amendments: list[Any] = list(facts.amendments)
    if proposed:
        amendments = sorted([*amendments, *proposed],
                            key=lambda a: (a.effective_date, a.amendment_id))
    added_ids = {c["line_id"] for a in amendments for c in json.loads(a.payload)["changes"]
                 if c["action"] == "add_line"}
    mstones = list(facts.milestones)
    lines = list(facts.lines)
    stated = facts.stated or {}
    methods = {ln.line_id: stated.get(ln.line_id) or default_method(
        ln.kind, ln.kind == "fixed_fee" and bool(mstones) and ln.line_id not in added_ids,
        ln.estimated_hours, ln.estimated_cost) for ln in lines}
    block = block_of(facts.terms)
    block_line = next((ln for ln in lines if ln.kind == "retainer"
                       and ln.line_id not in added_ids), None) if block else None
    if block_line is not None:  # the block's price is recognised as hours are drawn
        methods[block_line.line_id] = "right_to_invoice"
    obligations = [_obligation(
        "time_and_materials" if ln is block_line else ln.kind, ln.line_id, ln.description,
        ln.amount, start, end, mstones, head.currency, methods[ln.line_id])
        for ln in lines if ln.line_id not in added_ids]
    fees = {ln.line_id: ln.amount for ln in lines if ln.line_id not in added_ids}
    # an amendment that changes only billing (change_cap, top_up_block, change_rate) is no
    # modification: an empty one would still be classified and re-allocate the contract
    mods = [m for m in (_modification(a, end, lines, head.currency, methods, fees)
                        for a in amendments) if m.added or m.changes]
    every = [*obligations, *(o for m in mods for o in m.added)]
    tm_ids = [o.id for o in every if o.method.kind is MethodKind.RIGHT_TO_INVOICE]
    actuals = as_actuals(billable_by_day(facts.items, facts.held, head.currency, tm_ids,
                                         facts.carried))
    if block is not None and block_line is not None:
        actuals.extend(block_actuals(
            conn, number, head.id, block_line.line_id, block_line.amount or Decimal(0),
            head.currency, contract_end(end, [
                (date.fromisoformat(a.effective_date), a.amendment_id,
                 date.fromisoformat(e) if (e := json.loads(a.payload).get("end_date")) else None)
                for a in amendments]), amendments, block[0]))
    if any(a.obligation_id == EXPENSES for a in actuals):
        obligations.append(Obligation(EXPENSES, "Rebilled expenses",
                                      Method(MethodKind.RIGHT_TO_INVOICE),
                                      Ssp(SspMethod.OBSERVABLE, Decimal(0)), start, end))
    estimates: list[Estimate] = []
    revisions = facts.revisions
    measured: list[Measured] = []
    by_line = {ln.line_id: ln for ln in lines}
    for ob in every:
        if ob.method.kind is MethodKind.MILESTONES:
            for m in mstones:
                if m.completed_on:
                    actuals.append(Actual(ob.id, ActualKind.MILESTONE,
                                          date.fromisoformat(m.completed_on), ref=m.milestone_id))
        if ob.method.kind in (MethodKind.HOURS, MethodKind.COST_TO_COST):
            line = by_line[ob.id]
            by_cost = ob.method.kind is MethodKind.COST_TO_COST
            own = line.estimated_cost if by_cost else line.estimated_hours
            estimates.extend(line_estimates(ob, own, [
                r for r in revisions if r.line_id == ob.id
                and r.basis == ("cost" if by_cost else "hours")]))
            measured.append(Measured(ob, by_cost, own))
    if measured:  # the contract's time, each entry for the lines it measures (progress.py)
        actuals.extend(ProjectTime(conn, head.id, head.currency).actuals(measured))
    actuals.sort(key=lambda a: (a.date, a.obligation_id, a.kind.value, a.ref))
    return RevenueContract(
        id=number, currency=head.currency, start=start, obligations=tuple(obligations),
        customer=head.customer_name, actuals=tuple(actuals), estimates=tuple(estimates),
        invoices=tuple(documents(facts.invoices, facts.credit_notes)),
        modifications=tuple(mods))


def _modification(row: Any, end: date, lines: list[Any], currency: str,
                  methods: dict[str, str], fees: dict[str, Decimal | None]) -> Modification:
    """An amendment as a modification. ``fees`` are the lines' prices in force before it
    (updated here). A price change of a fixed fee moves its price by new − old; of a retainer
    by what the new monthly fee bills from the effective date less what the old one would
    have; of a time-and-materials line by nothing (its consideration is what is billable).
    ``distinct`` on an added line answers "are distinct goods added?", on a price change or
    removal "are the remaining goods distinct?"; ``priced_at_ssp`` is read on added lines
    only: a price change adds nothing that could be priced (25-12)."""
    data = json.loads(row.payload)
    effective = date.fromisoformat(row.effective_date)
    new_end = date.fromisoformat(data["end_date"]) if data.get("end_date") else None
    kinds = {ln.line_id: ln for ln in lines}
    added: list[Obligation] = []
    changes: list[ObligationChange] = []
    priced: set[bool] = set()
    distinct: set[bool] = set()
    remaining: set[bool] = set()
    for c in data["changes"]:
        if "line_id" not in c:  # billing-only changes (change_cap, top_up_block): no line
            continue
        amount = Decimal(c["amount"]) if c.get("amount") is not None else None
        if c["action"] == "add_line":
            if "priced_at_ssp" in c:
                priced.add(bool(c["priced_at_ssp"]))
            if "distinct" in c:
                distinct.add(bool(c["distinct"]))
            line = kinds.get(c["line_id"])
            kind = c.get("kind", "fixed_fee")
            added.append(_obligation(kind, c["line_id"], c.get("description", c["line_id"]),
                                     amount, effective, new_end or end, [], currency,
                                     methods.get(c["line_id"]) or default_method(
                                         kind, False, line.estimated_hours if line else None,
                                         line.estimated_cost if line else None)))
            fees[c["line_id"]] = amount
            continue
        if "distinct" in c:
            remaining.add(bool(c["distinct"]))
        line = kinds.get(c["line_id"])
        if c["action"] == "change_price":
            old = fees.get(c["line_id"])
            delta = Decimal(0)
            if line is not None and line.kind == "retainer":
                until = new_end or end
                delta = (retainer_consideration(amount or Decimal(0), currency, effective, until)
                         - retainer_consideration(old or Decimal(0), currency, effective, until))
            elif line is not None and line.kind != "time_and_materials":
                delta = (amount or Decimal(0)) - (old or Decimal(0))
            fees[c["line_id"]] = amount
            changes.append(ObligationChange(c["line_id"], price_delta=delta, new_end=new_end))
        elif c["action"] == "remove_line":
            changes.append(ObligationChange(c["line_id"], new_end=effective))
    return Modification(
        id=row.amendment_id, effective=effective, description=data.get("reason", ""),
        added=tuple(added), changes=tuple(changes),
        added_distinct=(distinct.pop() if len(distinct) == 1 else None),
        priced_at_ssp=(priced.pop() if len(priced) == 1 else None),
        remaining_distinct=(remaining.pop() if len(remaining) == 1 else None),
        recorded_at=instant(row.recorded_at))


def contract_numbers(conn: Connection, until: date | None = None) -> list[str]:
    q = select(contracts.c.number).order_by(contracts.c.number)
    if until is not None:
        q = q.where(contracts.c.start_date <= until.isoformat())
    return [r.number for r in conn.execute(q)]


def contract_heads(conn: Connection) -> dict[str, Any]:
    return {r.number: r for r in conn.execute(select(contracts))}


