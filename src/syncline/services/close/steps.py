"""The period close, as steps a durable workflow runs in order (workflows/close.py).

cut-off → recurring billing → revenue recognition → accrual of approved-but-unbilled time →
contract asset/liability reclassification → intercompany charges → FX revaluation →
reconciliation → close, then lock.
Every step is idempotent, so a resumed or repeated close changes nothing; each returns a
small JSON-ready summary that the workflow records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import Engine, func, select

from syncline.adapters.db.tables import inbox
from syncline.domain.reference import ReferenceData
from syncline.ledger.accounts import Charts
from syncline.services.billing.run import month_bounds, run_billing
from syncline.services.clock import Clock
from syncline.services.close.accrual import accrue_unbilled_time
from syncline.services.close.fx_revaluation import revalue_period
from syncline.services.close.intercompany import charge_period
from syncline.services.close.labor_cost import true_up_labor_cost
from syncline.services.ledger.carried import keep_carries
from syncline.services.ledger.config import LedgerConfig
from syncline.services.ledger.erp_journals import post_summaries
from syncline.services.ledger.held import facts_held
from syncline.services.ledger.labor_cost_months import keep_month_costs
from syncline.services.ledger.periods import PeriodChangeRefused, change_period, status_of
from syncline.services.ledger.queries import charts_for, entries_held
from syncline.services.ledger.reports import record_close, report_options
from syncline.services.ledger.reports.snapshots import latest
from syncline.services.messaging.outcomes import Stats
from syncline.services.revenue.sync import recognize
from syncline.services.uncollected import without_collection


class CloseSystem(Protocol):
    """What the close needs of the wired system (bootstrap's `Syncline` provides it)."""

    engine: Engine
    clock: Clock
    settings: Any

    @property
    def ref(self) -> ReferenceData: ...

    @property
    def charts(self) -> Charts: ...

    @property
    def ledger(self) -> LedgerConfig: ...

    def process(self, progress: Any = None) -> Stats: ...




def entities(system: CloseSystem, entity: str | None) -> list[str]:
    return [entity] if entity else [e.code for e in system.ref.entities]


@without_collection
def cut_off(system: CloseSystem, period: str, entity: str | None = None) -> dict[str, Any]:
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


@without_collection
def billing(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    result = run_billing(system.engine, period, system.ref, system.charts, system.clock(),
                         entity=entity,
                         revenue_recognition=system.settings.revenue_recognition,
                         rules=system.ledger.rules,
                         closed_period_policy=system.ledger.closed_period_policy)
    return {"invoices": len(result.invoices), "journal_entries": result.journal_entries}


@without_collection
def recognition(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    engine_mode = system.settings.revenue_recognition == "engine"
    result = recognize(system.engine, period, system.charts, system.clock(),
                       post_journals=engine_mode, entity=entity, rules=system.ledger.rules,
                       closed_period_policy=system.ledger.closed_period_policy,
                       functional=system.ledger.functional_currencies)
    return {"contracts": result.contracts, "journal_entries": result.journal_entries,
            "refused": result.refused,
            **({"posting_failed": result.posting_failed} if result.posting_failed else {}),
            "journals": "posted" if engine_mode else
            "schedules only (revenue is credited at invoice: on_invoice mode)",
            "revenue": {k: str(v) for k, v in sorted(result.revenue.items())}}


@without_collection
def accrual(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    """Accrue approved-but-unbilled time (on_invoice mode), and post the late labor cost of
    months already costed (time approved or rejected after their cost was posted) in this
    period."""
    accrued = accrue_unbilled_time(system.engine, period, entity, charts=system.charts,
                                   now=system.clock(),
                                   revenue_recognition=system.settings.revenue_recognition,
                                   rules=system.ledger.rules,
                                   closed_period_policy=system.ledger.closed_period_policy)
    late = true_up_labor_cost(system.engine, period, entity, charts=system.charts,
                              now=system.clock(), rules=system.ledger.rules,
                              closed_period_policy=system.ledger.closed_period_policy)
    return {**accrued, "journal_entries": accrued["journal_entries"] + late["journal_entries"],
            "late_labor_cost": late}


@without_collection
def reclassification(system: CloseSystem, period: str, entity: str | None = None
                     ) -> dict[str, Any]:
    if system.settings.revenue_recognition == "engine":
        return {"note": "contract asset / liability are netted per contract by the "
                "recognition true-up (ASC 606-10-45-1); nothing left to reclassify"}
    return {"note": "on_invoice mode keeps no contract liability: nothing to reclassify"}


@without_collection
def intercompany(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    """Charge cross-entity time provider → recipient at the transfer-pricing rate."""
    ledger = system.ledger
    with system.engine.begin() as conn:
        return charge_period(conn, period, charts=system.charts,
                             functional_currencies=ledger.functional_currencies,
                             pricing=ledger.intercompany, now=system.clock(), entity=entity,
                             closed_period_policy=ledger.closed_period_policy)


@without_collection
def fx_revaluation(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    """Revalue open foreign-currency balances at the closing rate (policy option)."""
    ledger = system.ledger
    with system.engine.begin() as conn:
        return revalue_period(conn, period, entities=entities(system, entity),
                              charts=system.charts,
                              functional_currencies=ledger.functional_currencies,
                              policy=ledger.fx_revaluation, now=system.clock(),
                              closed_period_policy=ledger.closed_period_policy)


@without_collection
def erp_journals(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    """The period's summarized journals to the ERP: what no document carries (each journal
    entry once; a re-run sends only what was posted since: services/ledger/erp_journals)."""
    chosen = entities(system, entity)
    receivables = {e: system.charts.of(e).code("accounts_receivable") for e in chosen}
    with system.engine.begin() as conn:
        done = post_summaries(conn, chosen, period, now=system.clock(),
                              receivables=receivables)
    return {"summaries": [d.name for d in done],
            "journals": sum(len(d.payloads) for d in done),
            "entries": sum(len(d.entries) for d in done)}


@without_collection
def reconciliation(system: CloseSystem, period: str, entity: str | None) -> dict[str, Any]:
    with system.engine.connect() as conn, entries_held(conn):  # the same options as every
        report = report_options(system).build(conn, "close-reconciliation",  # entry point
                                              period, entity=entity, as_of="now")
    checks = report.tables[0].as_dicts()
    ok = all(str(c.get("status")) in ("ok", "skipped") for c in checks)
    return {"ok": ok, "report": report.as_dict()}


Step = Callable[[CloseSystem, str, str | None], dict[str, Any]]

# The close's steps in order: a new step is a function above and a line here; the durable
# workflow (`workflows/close.py`) records each as its own step and ends with the lock, which
# happens only when the reconciliation's checks all agree (or the close is forced). Each
# step runs without automatic garbage collection (`services/uncollected`, ADR 0018).
LEDGER_STEPS: tuple[tuple[str, Step], ...] = (
    ("cut-off", cut_off),
    ("billing", billing),
    ("recognition", recognition),
    ("accrual", accrual),
    ("reclassification", reclassification),
    ("intercompany", intercompany),
    ("fx-revaluation", fx_revaluation),
    ("erp-journals", erp_journals),
    ("reconciliation", reconciliation),
)
STEPS = (*(name for name, _ in LEDGER_STEPS), "lock")


@without_collection
def close_and_lock(system: CloseSystem, period: str, entity: str | None, *, actor: str,
                   lock: bool, roles: Sequence[str] = ("finance", "controller")
                   ) -> dict[str, Any]:
    """Close (and lock) the period for each entity; in the same transaction, record what the
    close reports for the entities it closed (and the firm, when every entity is closed):
    a closed month's reports are then read as reported here (docs/ledger.md)."""
    out: dict[str, str] = {}
    closed_now: list[str] = []
    with system.engine.begin() as conn:
        for ent in entities(system, entity):
            for action in ("close", "lock") if lock else ("close",):
                status = status_of(conn, ent, period).value
                if (action == "close" and status in ("closed", "locked")) or (
                        action == "lock" and status == "locked"):
                    continue
                try:
                    change_period(conn, ent, period, action, actor=actor, role=roles,
                                  reason=f"period close {period}", now=system.clock())
                except PeriodChangeRefused as refused:
                    out[ent] = f"refused: {refused}"
                    break
                if ent not in closed_now and (
                        action == "close" or latest(conn, "margin", period, ent) is None):
                    closed_now.append(ent)  # closed now, or locked without a record
            out.setdefault(ent, status_of(conn, ent, period).value)
        # the locked months' books carried (ADR 0014; also the backfill after migration 0022)
        keep_carries(conn, charts_for(conn, system.ref, system.charts))
        if closed_now:
            with facts_held(conn):  # the month costs kept are those the reports read
                keep_month_costs(conn, period)  # what the margin report re-reads
                record_close(conn, period, report_options(system), entities=closed_now,
                             whole_firm=entity is None and all(
                                 s in ("closed", "locked") for s in out.values()),
                             now=system.clock())
    return out


def run_number(system: CloseSystem, period: str, entity: str | None) -> int:
    """How many times the period was reopened: a new close after a reopen is a new run."""
    from syncline.services.ledger.periods import period_history

    with system.engine.connect() as conn:
        history = period_history(conn, entity, period)
    return sum(1 for h in history if h.get("action") == "reopen")
