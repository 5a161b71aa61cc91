"""Small firms fed as a new user would, and read back per contract and month.

A `Firm` is one Syncline on a fresh SQLite file with its HTTP API: events go in through
``POST /v1/events`` (a list of CloudEvents), then the firm applies what was received
(``system.process()``: the API only stores; the app's background worker is not started so
that the test decides when messages are applied). Month-ends go through the close's own
steps (``services/close/steps.LEDGER_STEPS`` in order, then close and lock when every
check agrees — what ``syncline close --period`` runs as a durable workflow).

`Firm.month(contract, period)` reads one contract's month back from the stored books:

- ``billed``: the subtotals (net of tax) of the contract's invoices dated in the month;
- ``credits``: what the contract's credit notes dated in the month take back (positive,
  net of tax); ``credit_tax`` the tax they take back;
- ``revenue``: revenue posted in the month by the contract's revenue true-ups (GL, revenue
  accounts, transaction currency);
- ``balance``: the contract's position at the month end in the GL, unbilled receivable
  (contract asset) minus contract liability, from the contract's invoices, credit notes and
  revenue entries dated up to the month end; > 0 is an asset, < 0 a liability. By the rules
  of docs/revenue.md it equals cumulative revenue − cumulative net billed;
- ``write_off``: cap write-offs on the contract's invoices of the month (positive);
- ``labor_cost``: the margin report's cost of the contract's project for the month.

Builders here extend ``tests.builders`` with what a small firm needs (billing terms,
estimates, expenses, milestones, amendments, FX rates).
"""

from __future__ import annotations

import inspect
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from syncline.adapters.db.billing_tables import credit_notes
from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    invoices,
    journal_entries,
    journal_lines,
    projects,
)
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.ledger.periods import period_end, period_start
from syncline.services.close import steps
from syncline.services.ledger.reports.registry import build_report
from syncline.services.state import fingerprint
from tests.builders import event
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "firm-key"}
ZERO = Decimal(0)
_ids = itertools.count(1)


def D(text: str | int) -> Decimal:
    return Decimal(str(text))


# --- builders ----------------------------------------------------------------------------

def deal(number: str, *, kind: str = "time_and_materials", rate: str | None = "100.00",
         amount: str | None = None, currency: str = "USD", tax: str = "US-EXEMPT",
         start: str = "2026-01-01", end: str = "2026-12-31", entity: str = "US01",
         milestones: list[dict[str, Any]] | None = None, terms: dict[str, Any] | None = None,
         line: dict[str, Any] | None = None, template: str = "implementation",
         ) -> dict[str, Any]:
    """A won deal: contract ``number``, deal ``D-<number>``, project ``P-<number>``, one line
    L1 of ``kind`` (``line`` adds fields to it), the consultant's contract rate ``rate``."""
    ln: dict[str, Any] = {"line_id": "L1", "kind": kind, "description": f"{kind} services"}
    if amount is not None:
        ln["amount"] = amount
    ln.update(line or {})
    data: dict[str, Any] = {
        "deal_id": f"D-{number}",
        "customer": {"external_id": f"ACC-{number}", "name": f"Customer of {number}",
                     "country": "US"},
        "legal_entity": entity, "tax_profile": tax, "currency": currency,
        "contract": {"number": number, "start_date": start, "end_date": end,
                     "billing_type": kind, "payment_terms_days": 30},
        "lines": [ln],
        "rates": [{"role": "consultant", "rate": rate}] if rate else [],
        "milestones": milestones or [],
        "project": {"code": f"P-{number}", "name": f"Project {number}", "template": template},
    }
    if terms is not None:
        data["billing_terms"] = terms
    return event("deal.closed_won", f"deal/D-{number}", data, source="crm/salesforce",
                 time=f"{start}T09:00:00Z", id_=f"deal-{number}")


def worker(worker_id: str, *, cost: str, role: str = "consultant", entity: str = "US01",
           currency: str = "USD", effective: str = "2025-01-01") -> dict[str, Any]:
    return event("worker.upserted", f"worker/{worker_id}", {
        "worker_id": worker_id, "name": f"Worker {worker_id}", "role": role,
        "legal_entity": entity, "cost_rate": {"amount": cost, "currency": currency},
        "status": "active", "effective_date": effective}, source="hris/workday",
        id_=f"worker-{worker_id}-{effective}", time="2026-01-01T08:00:00Z")


def terminated(worker_id: str, last_day: str) -> dict[str, Any]:
    return event("worker.terminated", f"worker/{worker_id}", {
        "worker_id": worker_id, "termination_date": last_day, "reason": "resigned"},
        source="hris/workday", sequence=2, id_=f"term-{worker_id}",
        time=f"{last_day}T17:00:00Z")


def time_(entry_id: str, contract: str, day: str, hours: str, *, worker_id: str,
          role: str = "consultant", task: str = "1") -> dict[str, Any]:
    return event("time.approved", f"time/{entry_id}", {
        "time_entry_id": entry_id, "worker_id": worker_id, "project_code": f"P-{contract}",
        "task_code": task, "work_date": day, "hours": hours, "role": role,
        "approval_status": "approved"}, source="psa/kantata", id_=f"time-{entry_id}",
        time=f"{day}T18:00:00Z")


def timesheet(prefix: str, contract: str, first_day: str, hours: int, *, worker_id: str,
              per_day: int = 10) -> list[dict[str, Any]]:
    """``hours`` booked as entries of at most ``per_day`` hours on consecutive days from
    ``first_day`` (a day holds at most 24 hours): ``<prefix>-1``, ``<prefix>-2`` …"""
    from datetime import date, timedelta

    day, out, left, n = date.fromisoformat(first_day), [], hours, 1
    while left > 0:
        h = min(per_day, left)
        out.append(time_(f"{prefix}-{n}", contract, day.isoformat(), str(h),
                         worker_id=worker_id))
        day, left, n = day + timedelta(days=1), left - h, n + 1
    return out


def reject_time(entry_id: str, on: str) -> dict[str, Any]:
    return event("time.rejected", f"time/{entry_id}", {
        "time_entry_id": entry_id, "reason": "booked in error"}, source="psa/kantata",
        sequence=2, id_=f"reject-{entry_id}", time=f"{on}T10:00:00Z")


def expense(expense_id: str, contract: str, day: str, amount: str, *, worker_id: str,
            currency: str = "USD", category: str = "travel") -> dict[str, Any]:
    return event("expense.approved", f"expense/{expense_id}", {
        "expense_id": expense_id, "worker_id": worker_id, "project_code": f"P-{contract}",
        "incurred_on": day, "category": category, "amount": {"amount": amount,
                                                              "currency": currency},
        "billable": True, "approval_status": "approved"}, source="psa/kantata",
        id_=f"expense-{expense_id}", time=f"{day}T18:00:00Z")


def reject_expense(expense_id: str, on: str) -> dict[str, Any]:
    return event("expense.rejected", f"expense/{expense_id}", {
        "expense_id": expense_id, "reason": "not rebillable under the SOW"},
        source="psa/kantata", id_=f"reject-{expense_id}", time=f"{on}T10:00:00Z")


def milestone_done(milestone_id: str, contract: str, day: str) -> dict[str, Any]:
    return event("milestone.completed", f"milestone/{milestone_id}", {
        "milestone_id": milestone_id, "project_code": f"P-{contract}", "completed_on": day,
        "evidence": {"accepted_by": "customer CFO"}}, source="psa/kantata",
        id_=f"milestone-{milestone_id}", time=f"{day}T12:00:00Z")


def amended(contract: str, amendment_id: str, effective: str, changes: list[dict[str, Any]],
            *, sent: str | None = None) -> dict[str, Any]:
    return event("contract.amended", f"deal/D-{contract}", {
        "deal_id": f"D-{contract}", "amendment_id": amendment_id, "effective_date": effective,
        "changes": changes, "reason": f"amendment {amendment_id}"}, source="crm/salesforce",
        sequence=2, id_=f"amend-{amendment_id}", time=f"{sent or effective}T09:00:00Z")


def fx_rates(as_of: str, base: str, rates: dict[str, str]) -> dict[str, Any]:
    return event("fx.rates_published", f"fx/{base}/{as_of}", {
        "as_of": as_of, "source": "treasury month-end", "base": base, "rates": rates},
        source="erp/treasury", id_=f"fx-{base}-{as_of}", time=f"{as_of}T20:00:00Z")


def estimate_revised(contract: str, line_id: str, effective: str, *,
                     estimated_cost: str | None = None, estimated_hours: str | None = None,
                     revision_id: str = "EST-1") -> dict[str, Any]:
    """The shape issue 9 asks for ("the estimate at completion an effective-dated fact with
    its own event, e.g. `estimate.revised`"); the event type does not exist yet."""
    data: dict[str, Any] = {"revision_id": revision_id, "contract_number": contract,
                            "line_id": line_id, "effective_date": effective,
                            "reason": "re-planned after design"}
    if estimated_cost is not None:
        data["estimated_cost"] = estimated_cost
    if estimated_hours is not None:
        data["estimated_hours"] = estimated_hours
    return event("estimate.revised", f"contract/{contract}", data, source="psa/kantata",
                 id_=f"estimate-{contract}-{revision_id}", time=f"{effective}T09:00:00Z")


# --- read back ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Month:
    billed: Decimal
    credits: Decimal
    revenue: Decimal
    balance: Decimal
    write_off: Decimal
    labor_cost: Decimal
    credit_tax: Decimal = ZERO

    def row(self) -> tuple[Decimal, ...]:
        """(billed, credits, revenue, balance, write-off, labor cost): the table's row."""
        return (self.billed, self.credits, self.revenue, self.balance, self.write_off,
                self.labor_cost)


def row(billed: str | int, credits: str | int, revenue: str | int, balance: str | int,
        write_off: str | int, labor_cost: str | int) -> tuple[Decimal, ...]:
    """A hand-computed row, in the order of `Month.row`."""
    return tuple(D(x) for x in (billed, credits, revenue, balance, write_off, labor_cost))


class Firm:
    """One Syncline with its HTTP API on a fresh SQLite file (see the module doc)."""

    def __init__(self, tmp_path: Path, name: str = "firm") -> None:
        self.url = f"sqlite:///{tmp_path / f'{name}.db'}"
        self.system: Syncline = bootstrap(Settings(database_url=self.url,
                                                   api_keys="firm-key"),
                                          clock=fixed_clock, durable=False)
        kwargs: dict[str, Any] = {}
        if "background" in inspect.signature(create_app).parameters:
            kwargs["background"] = False  # the test applies what is received, in its order
        self.http = TestClient(create_app(self.system, **kwargs))
        self.http.__enter__()
        self.closes: dict[str, dict[str, Any]] = {}

    def dispose(self) -> None:
        self.http.__exit__(None, None, None)
        self.system.engine.dispose()

    # events in
    def post(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        """POST the events as one batch; every one must be accepted or a duplicate (a 422
        would mean the test's payload is wrong); then apply what was received."""
        if not events:
            self.system.process()
            return []
        r = self.http.post("/v1/events", json=list(events), headers=KEY)
        assert r.status_code in (200, 202), r.text
        results = r.json()["results"]
        bad = [x for x in results if x["status"] not in ("accepted", "duplicate")]
        assert not bad, bad
        self.system.process()
        return results

    def post_raw(self, *events: dict[str, Any]) -> Any:
        """POST without asserting (for event types the product does not know yet)."""
        r = self.http.post("/v1/events", json=list(events), headers=KEY)
        self.system.process()
        return r

    def outcome(self, ev: dict[str, Any]) -> str | None:
        """What became of a message (applied, failed, parked, rejected …), from the inbox."""
        from syncline.adapters.db.tables import inbox

        with self.system.engine.connect() as conn:
            return conn.execute(select(inbox.c.status).where(
                (inbox.c.source == ev["source"]) & (inbox.c.event_id == ev["id"]))).scalar()

    # month-end
    def close(self, period: str) -> dict[str, Any]:
        """The close's steps in order, then close — and lock when every check agrees."""
        out: dict[str, Any] = {}
        for name, step in steps.LEDGER_STEPS:
            out[name] = step(self.system, period, None)
        ok = bool(out["reconciliation"]["ok"])
        out["lock"] = steps.close_and_lock(self.system, period, None, actor="controller",
                                           lock=ok)
        out["locked"] = ok
        self.closes[period] = out
        return out

    def differing_checks(self, period: str) -> list[tuple[Any, ...]]:
        """The checks of the period's close that did not agree, and every difference."""
        report = self.closes[period]["reconciliation"]["report"]
        checks = report["tables"][0]
        status = checks["columns"].index("status")
        bad = [tuple(r) for r in checks["rows"] if r[status] not in ("ok", "skipped")]
        return bad + [tuple(r) for r in report["tables"][1]["rows"]]

    def assert_locked(self, period: str) -> None:
        result = self.closes[period]
        assert result["locked"] and not self.differing_checks(period), \
            self.differing_checks(period)
        assert set(result["lock"].values()) <= {"locked"}, result["lock"]
        checks = result["reconciliation"]["report"]["tables"][0]["rows"]
        assert checks  # a close without checks would agree vacuously

    # read back
    def _accounts(self) -> tuple[str, str]:
        chart = self.system.charts.of("US01")
        return chart.code("unbilled_receivable"), chart.code("contract_liability")

    def month(self, contract: str, period: str) -> Month:
        start, end = period_start(period).isoformat(), period_end(period).isoformat()
        unbilled, liability = self._accounts()
        with self.system.engine.connect() as conn:
            invs = conn.execute(select(invoices).where(
                invoices.c.contract_number == contract)).all()
            notes = conn.execute(select(credit_notes).where(
                credit_notes.c.contract_number == contract)).all()
            billed = sum((i.subtotal for i in invs if start <= i.invoice_date <= end), ZERO)
            credits = -sum((n.subtotal for n in notes if start <= n.credit_date <= end), ZERO)
            credit_tax = -sum((n.tax for n in notes if start <= n.credit_date <= end), ZERO)
            month_invoices = [i.number for i in invs if start <= i.invoice_date <= end]
            write_off = -sum((r.amount for r in conn.execute(
                select(billable_items.c.amount).where(
                    billable_items.c.key.like("adjustment:cap:%")
                    & billable_items.c.invoice_number.in_(month_invoices)))), ZERO)
            docs = {("invoice", i.number) for i in invs} | {("credit_note", n.number)
                                                            for n in notes}
            balance = ZERO
            revenue = ZERO
            for r in conn.execute(
                    select(journal_entries.c.source_type, journal_entries.c.source_id,
                           journal_entries.c.posting_date, journal_lines.c.account,
                           journal_lines.c.side, journal_lines.c.amount)
                    .join(journal_lines, journal_lines.c.entry_id == journal_entries.c.id)
                    .where(journal_entries.c.posting_date <= end)):
                ours = (r.source_type, r.source_id) in docs or (
                    r.source_type == "revenue" and r.source_id.startswith(f"revenue:{contract}:"))
                if not ours:
                    continue
                signed = r.amount if r.side == "debit" else -r.amount
                if r.account in (unbilled, liability):
                    balance += signed
                elif r.source_type == "revenue" and r.posting_date >= start:
                    revenue -= signed
            project = conn.execute(select(projects.c.code).join(
                contracts, contracts.c.id == projects.c.contract_id).where(
                contracts.c.number == contract)).scalar()
        return Month(billed, credits, revenue, balance, write_off,
                     self.labor_cost(str(project), period), credit_tax)

    def labor_cost(self, project: str, period: str) -> Decimal:
        table = self.report("margin", period)["tables"][0]
        cols = table["columns"]
        return sum((D(r[cols.index("cost")]) for r in table["rows"]
                    if r[cols.index("project")] == project), ZERO)

    def report(self, name: str, period: str) -> dict[str, Any]:
        with self.system.engine.connect() as conn:
            rep = build_report(conn, name, period, ref=self.system.ref,
                               chart=self.system.charts,
                               revenue_mode=self.system.settings.revenue_recognition)
        return json.loads(json.dumps(rep.as_dict(), default=str))

    def table(self, contract: str, periods: Iterable[str]) -> dict[str, tuple[Decimal, ...]]:
        return {p: self.month(contract, p).row() for p in periods}

    def fingerprint(self) -> str:
        with self.system.engine.connect() as conn:
            return str(fingerprint(conn))
