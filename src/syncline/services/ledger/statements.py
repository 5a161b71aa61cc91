"""The contract statement: one contract's month read back from the stored books, each figure
with the items it comes from (docs/ledger.md, "Contract statement").

``contract_statement(conn, number, period, options)`` reads the stored facts — invoices and
their lines, credit notes and their lines, billable items (cap write-offs), holds at hard
caps, revenue schedules, the journal entries of the contract (its invoices, credit notes and
revenue true-ups ``revenue:<contract>:<period>``) and the margin report's labor cost — and
answers:

- ``billed``: the subtotals (net of tax) of the invoices dated in the month; ``credits``: what
  the credit notes dated in it take back (positive, net of tax; a note is stored negative);
  ``net_billed`` = billed − credits; ``billed_to_date``: net billed up to the month end;
- ``revenue``: revenue posted for the contract in the month (its true-ups in revenue-engine
  mode, the revenue lines of its documents on invoice); ``revenue_to_date`` up to the month
  end; the schedule's rows of the month (as known now) are listed with it;
- ``contract_asset`` / ``contract_liability`` at the month end: the contract's unbilled
  receivable and contract liability in the GL, from its own entries; ``balance`` = asset −
  liability (> 0 an asset, < 0 a liability);
- ``cap_write_off``: the cap write-offs on the month's invoices (positive); ``held_at_cap``:
  what the month's run held at a hard cap;
- ``labor_cost``: the margin report's cost of the contract's project for the month, in the
  cost currency — the month's approved time at HR rates plus the late changes to closed
  months it posts (``as_of="close"``: a closed month as its close reported it).

Amounts are exact decimal strings in the contract's currency (labor cost in its cost
currency); a zero has no sign. Nothing is written.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import billing_holds, credit_note_lines, credit_notes
from syncline.adapters.db.revenue_tables import revenue_schedules
from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    customers,
    invoice_lines,
    invoices,
    projects,
)
from syncline.ledger.carried import Books
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import is_period_name, period_end, period_of, period_start
from syncline.services.ledger.contract_reads import (
    contract_entries,
    project_costed_time,
    project_labor,
)
from syncline.services.ledger.queries import charts_for
from syncline.services.ledger.reports.common import ZERO, plain, posted_revenue
from syncline.services.ledger.reports.registry import ReportOptions

LABOR_OTHER = ("the labor cost shown less the month's time listed (as known now): late "
               "changes to closed months posted in this month, and for a closed month read "
               "as reported, the changes since its close")


class UnknownContract(LookupError):
    pass


def _s(amount: Decimal) -> str:
    return plain(amount)


# the statement's figures in the order a reader wants them, with their labels (CLI, console)
FIGURES = (("billed", "Billed (invoices, net of tax)"), ("credits", "Credits (credit notes)"),
           ("net_billed", "Net billed"), ("billed_to_date", "Net billed to date"),
           ("revenue", "Revenue recognized in the month"),
           ("revenue_to_date", "Revenue recognized to date"),
           ("contract_asset", "Contract asset (unbilled) at month end"),
           ("contract_liability", "Contract liability (deferred) at month end"),
           ("balance", "Balance (asset − liability)"), ("cap_write_off", "Cap write-offs"),
           ("held_at_cap", "Held at a hard cap"), ("labor_cost", "Labor cost"),
           ("labor_hours", "Labor hours"))


@dataclass
class Statement:
    """A contract's month: headline figures (``figures``) and their sources."""

    contract: dict[str, Any]
    period: str
    as_of: str
    figures: dict[str, Decimal]
    labor_currency: str | None
    sources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"contract": self.contract["number"], "period": self.period, "as_of": self.as_of,
                "entity": self.contract["entity"], "currency": self.contract["currency"],
                "customer": self.contract["customer"],
                "billing_type": self.contract["billing_type"],
                "projects": self.contract["projects"],
                **{k: _s(v) for k, v in self.figures.items()},
                "labor_cost_currency": self.labor_currency,
                "sources": self.sources, "notes": self.notes}


def contract_statement(conn: Connection, number: str, period: str, options: ReportOptions,
                       *, as_of: str = "close") -> Statement:
    """The statement of contract ``number`` for ``period`` (see the module docstring).
    Raises ``UnknownContract`` for a contract that is not stored, ``ValueError`` for a bad
    period."""
    if not is_period_name(period):
        raise ValueError(f"not a period {period!r}: expected YYYY-MM")
    head = conn.execute(select(contracts, customers.c.name.label("customer_name"))
                        .outerjoin(customers, customers.c.id == contracts.c.customer_id)
                        .where(contracts.c.number == number)).first()
    if head is None:
        raise UnknownContract(f"no contract {number!r}")
    codes = sorted(conn.execute(select(projects.c.code).where(
        projects.c.contract_id == head.id)).scalars())
    contract = {"number": number, "entity": head.entity_code, "currency": head.currency,
                "customer": head.customer_name, "billing_type": head.billing_type,
                "projects": codes}
    start, end = period_start(period).isoformat(), period_end(period).isoformat()
    out = Statement(contract, period, as_of, {}, None)
    _billing(conn, number, start, end, out)
    _ledger(conn, number, period, options, out)
    _caps(conn, number, period, out)
    _labor(conn, codes, head.entity_code, period, options, as_of, out)
    return out


def _lines(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"description": ln.description, "quantity": _s(ln.quantity),
             "amount": _s(ln.amount), "items": json.loads(ln.item_keys)} for ln in rows]


def _billing(conn: Connection, number: str, start: str, end: str, out: Statement) -> None:
    invs = conn.execute(select(invoices).where(invoices.c.contract_number == number)
                        .order_by(invoices.c.invoice_date, invoices.c.number)).all()
    notes = conn.execute(select(credit_notes).where(credit_notes.c.contract_number == number)
                         .order_by(credit_notes.c.credit_date, credit_notes.c.number)).all()
    month_invs = [i for i in invs if start <= i.invoice_date <= end]
    month_notes = [n for n in notes if start <= n.credit_date <= end]
    billed = sum((i.subtotal for i in month_invs), ZERO)
    credits = -sum((n.subtotal for n in month_notes), ZERO)  # stored negative
    to_date = sum((i.subtotal for i in invs if i.invoice_date <= end), ZERO) \
        + sum((n.subtotal for n in notes if n.credit_date <= end), ZERO)
    out.figures.update(billed=billed, credits=credits, net_billed=billed - credits,
                       billed_to_date=to_date,
                       credit_tax=-sum((n.tax for n in month_notes), ZERO))
    out.sources["invoices"] = [
        {"number": i.number, "date": i.invoice_date, "subtotal": _s(i.subtotal),
         "tax": _s(i.tax), "total": _s(i.total), "lines": _lines(conn.execute(
             select(invoice_lines).where(invoice_lines.c.invoice_number == i.number)
             .order_by(invoice_lines.c.line_no)))} for i in month_invs]
    out.sources["credit_notes"] = [
        {"number": n.number, "date": n.credit_date, "invoice": n.invoice_number,
         "reason": n.reason, "subtotal": _s(n.subtotal), "tax": _s(n.tax),
         "total": _s(n.total), "lines": _lines(conn.execute(
             select(credit_note_lines).where(credit_note_lines.c.credit_note_number
                                             == n.number)
             .order_by(credit_note_lines.c.line_no)))} for n in month_notes]


def _ledger(conn: Connection, number: str, period: str, options: ReportOptions,
            out: Statement) -> None:
    """Revenue in the month and to date, contract asset and liability at the month end: the
    contract's own journal entries (its documents and true-ups), in the contract currency."""
    charts = charts_for(conn, options.ref, options.chart)
    entries = contract_entries(conn, number, out.contract["entity"], period)
    posted = posted_revenue(Books(entries=tuple(entries)), charts, lambda _: number, period)
    revenue = posted.during.get(number, ZERO)
    out.figures.update(revenue=revenue,
                       revenue_to_date=posted.before.get(number, ZERO) + revenue)
    chart = charts.get(out.contract["entity"])
    roles = {"unbilled_receivable": ZERO, "contract_liability": ZERO}
    codes = {chart.code(r): r for r in roles
             if chart and any(a.role == r for a in chart.accounts)} if chart else {}
    for e in entries:
        for ln in e.lines:
            if ln.account in codes:
                roles[codes[ln.account]] += ln.signed
    asset, liability = roles["unbilled_receivable"], -roles["contract_liability"]
    out.figures.update(contract_asset=asset, contract_liability=liability,
                       balance=asset - liability)
    out.sources["journal_entries"] = [
        _entry(e, codes, charts) for e in entries if period_of(e.posting_date) == period]
    out.sources["schedule"] = [
        {"obligation": r.obligation_id, "method": r.method, "revenue": _s(r.revenue),
         "cumulative": _s(r.cumulative), "computed_as_of": r.as_of}
        for r in conn.execute(select(revenue_schedules).where(
            (revenue_schedules.c.contract_number == number)
            & (revenue_schedules.c.period == period))
            .order_by(revenue_schedules.c.obligation_id))]
    if out.sources["schedule"]:
        out.notes.append("schedule: the revenue engine's rows for the month as stored now; "
                         "revenue is what the books posted.")


def _entry(e: JournalEntry, codes: dict[str, str], charts: Any) -> dict[str, Any]:
    chart = charts.get(e.entity_id)
    revenue = ZERO
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for ln in e.lines:
        account = chart.by_code(ln.account) if chart else None
        if account is not None and account.role.startswith("revenue:"):
            revenue -= ln.signed
        elif ln.account in codes:
            balances[codes[ln.account]] += ln.signed
    return {"source_type": e.source_type, "source_id": e.source_id,
            "date": e.posting_date.isoformat(),
            "revenue": _s(revenue),
            "unbilled_receivable": _s(balances["unbilled_receivable"]),
            "contract_liability": _s(-balances["contract_liability"])}


def _caps(conn: Connection, number: str, period: str, out: Statement) -> None:
    month_invs = {i["number"] for i in out.sources["invoices"]}
    offs = conn.execute(select(billable_items).where(
        (billable_items.c.contract_number == number)
        & billable_items.c.key.like("adjustment:cap:%")
        & billable_items.c.invoice_number.in_(sorted(month_invs)))
        .order_by(billable_items.c.key)).all() if month_invs else []
    out.figures["cap_write_off"] = -sum((r.amount for r in offs), ZERO)
    out.sources["cap_write_offs"] = [
        {"item": r.key, "adjusts": json.loads(r.adjusts) if r.adjusts else [],
         "amount": _s(-r.amount), "invoice": r.invoice_number} for r in offs]
    holds = conn.execute(select(billing_holds).where(
        (billing_holds.c.contract_number == number) & (billing_holds.c.held_in == period))
        .order_by(billing_holds.c.item_key)).all()
    out.figures["held_at_cap"] = sum((h.amount for h in holds), ZERO)
    out.sources["held_at_cap"] = [
        {"item": h.item_key, "cap": h.cap_id, "amount": _s(h.amount), "status": h.status}
        for h in holds]


def _labor(conn: Connection, codes: list[str], entity: str, period: str,
           options: ReportOptions, as_of: str, out: Statement) -> None:
    """The margin report's cost of the contract's projects, and the time it is made of (read
    for these projects only: ``contract_reads``)."""
    by_currency = project_labor(conn, out.contract["number"], codes, entity, period, options,
                                as_of=as_of)
    cost = [(c, v) for c, v in sorted(by_currency.items()) if v[0] or v[1]]
    out.labor_currency = cost[0][0] if len(cost) == 1 else None
    out.figures["labor_cost"] = sum((v[0] for _, v in cost), ZERO)
    out.figures["labor_hours"] = sum((v[1] for _, v in cost), ZERO)
    if len(cost) > 1:
        out.notes.append("labor_cost adds costs in " + ", ".join(c for c, _ in cost)
                         + ": see labor for each currency.")
    items = [{"time_entry": t.time_entry_id, "worker": t.worker_id, "project": t.project_code,
              "date": t.work_date, "hours": _s(t.hours),
              "cost": _s(t.cost) if t.cost is not None else None, "currency": t.cost_currency}
             for t in project_costed_time(conn, codes, period_start(period),
                                          period_end(period))]
    own = sum((Decimal(i["cost"]) for i in items if i["cost"] is not None), ZERO)
    other = out.figures["labor_cost"] - own.quantize(Decimal("0.01"))
    if other:
        items.append({"other": _s(other), "note": LABOR_OTHER})
    out.sources["labor"] = items
