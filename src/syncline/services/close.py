"""The period close, as steps a durable workflow runs in order (workflows/close.py).

cut-off → recurring billing → revenue recognition → accrual of approved-but-unbilled time →
contract asset/liability reclassification → reconciliation → close, then lock.
Every step is idempotent, so a resumed or repeated close changes nothing; each returns a
small JSON-ready summary that the workflow records.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Engine, func, select

from syncline.adapters.db.tables import billable_items, contracts, inbox
from syncline.domain.reference import ReferenceData
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.journal import JournalEntry, Side, line, reverse
from syncline.ledger.money import Money
from syncline.services.billing_run import month_bounds, run_billing
from syncline.services.clock import Clock
from syncline.services.ledger_posting import post_entry
from syncline.services.ledger_reports import close_reconciliation
from syncline.services.outcomes import Stats
from syncline.services.periods import PeriodChangeRefused, change_period, status_of
from syncline.services.revenue_sync import recognize


class CloseSystem(Protocol):
    """What the close needs of the wired system (bootstrap's `Syncline` provides it)."""

    engine: Engine
    ref: ReferenceData
    chart: ChartOfAccounts
    clock: Clock
    settings: Any

    def process(self, progress: Any = None) -> Stats: ...


STEPS = ("cut-off", "billing", "recognition", "accrual", "reclassification",
         "reconciliation", "lock")


def entities(system: CloseSystem, entity: str | None) -> list[str]:
    return [entity] if entity else [e.code for e in system.ref.entities]


def cut_off(system: CloseSystem, period: str) -> dict[str, Any]:
    """Apply everything received; list what is still stuck with a date in the period."""
    stats = system.process()
    _, end = month_bounds(period)
    with system.engine.connect() as conn:
        stuck = dict(conn.execute(
            select(inbox.c.status, func.count()).where(
                inbox.c.status.in_(("parked", "failed", "rejected"))
                & (inbox.c.event_time <= f"{end.isoformat()}T23:59:59.999999Z"))
            .group_by(inbox.c.status)).all())
    return {"applied_now": stats.applied, "cut_off": end.isoformat(),
            "stuck_in_period": {k: int(v) for k, v in sorted(stuck.items())}}


def billing(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    result = run_billing(system.engine, period, system.ref, system.chart, system.clock(),
                         entity=entity,
                         revenue_recognition=system.settings.revenue_recognition)
    return {"invoices": len(result.invoices), "journal_entries": result.journal_entries}


def recognition(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    engine_mode = system.settings.revenue_recognition == "engine"
    result = recognize(system.engine, period, system.chart, system.clock(),
                       post_journals=engine_mode, entity=entity)
    return {"contracts": result.contracts, "journal_entries": result.journal_entries,
            "refused": result.refused, "journals": "posted" if engine_mode else
            "schedules only (revenue is credited at invoice: on_invoice mode)",
            "revenue": {k: str(v) for k, v in sorted(result.revenue.items())}}


def accrual(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    """Approved, billable, not yet invoiced time: accrued at period end, reversed next day.

    In `engine` mode the revenue engine already recognizes it (right to invoice → unbilled
    receivable), so nothing is accrued twice.
    """
    if system.settings.revenue_recognition == "engine":
        return {"journal_entries": 0, "note": "recognized by the revenue engine (right to "
                "invoice → unbilled receivable); no separate accrual"}
    _, end = month_bounds(period)
    posted = 0
    totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    with system.engine.begin() as conn:
        q = (select(contracts.c.entity_code, contracts.c.service_line, billable_items.c.currency,
                    billable_items.c.amount)
             .join(contracts, contracts.c.number == billable_items.c.contract_number)
             .where((billable_items.c.status == "generated")
                    & (billable_items.c.source == "time")
                    & (billable_items.c.service_date <= end.isoformat())))
        for r in conn.execute(q):
            if entity and r.entity_code != entity:
                continue
            totals[(r.entity_code, r.currency, r.service_line)] += r.amount
        for (ent, cur, service_line), value in sorted(totals.items()):
            amount = Money(value, cur).rounded()
            entry = JournalEntry(ent, end, f"Accrual of approved unbilled time {period}", (
                line(system.chart.code("unbilled_receivable"), Side.DEBIT, amount,
                     "approved, not yet invoiced"),
                line(system.chart.code(f"revenue:{service_line}"), Side.CREDIT, amount,
                     "approved, not yet invoiced")),
                "accrual", f"accrual:{ent}:{cur}:{service_line}:{period}")
            posted += post_entry(conn, entry, system.clock())
            posted += post_entry(conn, reverse(entry, f"{entry.source_id}:reversal",
                                               end + timedelta(days=1)), system.clock())
    return {"journal_entries": posted,
            "accrued": {f"{e}/{c}/{s}": str(v) for (e, c, s), v in sorted(totals.items())}}


def reclassification(system: CloseSystem, period: str) -> dict[str, Any]:
    if system.settings.revenue_recognition == "engine":
        return {"note": "contract asset / liability are netted per contract by the "
                "recognition true-up (ASC 606-10-45-1); nothing left to reclassify"}
    return {"note": "on_invoice mode keeps no contract liability: nothing to reclassify"}


def reconciliation(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    with system.engine.connect() as conn:
        report = close_reconciliation(conn, period, entity=entity, ref=system.ref,
                                      chart=system.chart,
                                      revenue_mode=system.settings.revenue_recognition)
    checks = report.tables[0].as_dicts()
    ok = all(str(c.get("status")) in ("ok", "skipped") for c in checks)
    return {"ok": ok, "report": report.as_dict()}


def close_and_lock(system: CloseSystem, period: str, entity: str | None, *, actor: str,
                   lock: bool) -> dict[str, Any]:
    out: dict[str, str] = {}
    with system.engine.begin() as conn:
        for ent in entities(system, entity):
            for action in ("close", "lock") if lock else ("close",):
                status = status_of(conn, ent, period).value
                if (action == "close" and status in ("closed", "locked")) or (
                        action == "lock" and status == "locked"):
                    continue
                try:
                    change_period(conn, ent, period, action, actor=actor, role="finance",
                                  reason=f"period close {period}", now=system.clock())
                except PeriodChangeRefused as refused:
                    out[ent] = f"refused: {refused}"
                    break
            out.setdefault(ent, status_of(conn, ent, period).value)
    return out


def run_number(system: CloseSystem, period: str, entity: str | None) -> int:
    """How many times the period was reopened: a new close after a reopen is a new run."""
    from syncline.services.periods import period_history

    with system.engine.connect() as conn:
        history = period_history(conn, entity, period)
    return sum(1 for h in history if h.get("action") == "reopen")


def first_day(period: str) -> date:
    return month_bounds(period)[0]
