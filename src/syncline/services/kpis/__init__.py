"""Finance and PMO KPIs by legal entity and month: ``compute_kpis(conn, period, ...)``.

Each KPI has a written definition in ``DEFINITIONS`` (shown by ``syncline kpi`` and
``GET /v1/kpis``, and in docs/operations.md). The figures are read by ``queries`` and computed
by the pure ``formulas``; DSO, the revenue waterfall, deferred revenue and RPO are the ledger's
own reports (``services.ledger.reports``), not a second computation.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from syncline.services.kpis import formulas as f
from syncline.services.kpis import queries as q
from syncline.services.ledger.queries import period_end
from syncline.services.ledger.reports.receivables import ar_aging_tables
from syncline.services.ledger.reports.registry import ReportOptions

DEFINITIONS: dict[str, str] = {
    "project_setup_cycle_time": (
        "Days from a deal's close (the deal.closed_won's data.closed_at, else its event time) "
        "to its project becoming active (project.activated applied, else the delivery of the "
        "provisioning's last step psa.budget.update), for projects active in the month; count, "
        "median, p90 (nearest rank) and max, by the contract's legal entity."),
    "time_to_invoice_latency": (
        "Approval-to-invoice: calendar days from a time entry's approval (its time.approved "
        "event time) to the date of the invoice that billed it, over time entries billed on "
        "invoices dated in the month (a split entry once per invoice); count, median, p90, max "
        "by the invoice's legal entity."),
    "unbilled_approved_time": (
        "At the month's end: Σ amount of approved billable time items (billing hours × rate) "
        "with a service date on or before it that no invoice dated on or before it carries "
        "(reversed and written-off items excluded), by the contract's entity and currency."),
    "billing_exception_rate": (
        "Billing-domain exceptions raised in the month ÷ invoices dated in the month, by legal "
        "entity (an exception's entity is that of the first contract, invoice or project it "
        "names; '*' when none)."),
    "unrecognized_fulfilled_milestones": (
        "At the month's end: milestones completed on or before it whose billable item is on no "
        "invoice dated on or before it (revenue on invoice: not recognized yet); count and "
        "amount by the contract's entity and currency."),
    "amendments_awaiting_propagation": (
        "At the month's end (or now, for the current month): contract amendments not yet "
        "propagated to the PSA — recorded, but the psa.budget.update they emitted not "
        "delivered by then (pending, failed or delivered later: 'undelivered'), or the "
        "contract.amended message received by then and parked or failed, or recorded only "
        "later ('not_applied') — by the contract's legal entity ('*' when the deal is "
        "unknown)."),
    "exception_aging": (
        "Exceptions open at the month's end (or now, for the current month) — raised by then "
        "and not resolved or skipped by then — counted by age in whole days: 0-1, 2-7, 8-30, "
        "31+, by entity and business domain."),
    "straight_through_share": (
        "Messages received in the month and applied with no manual step — never edited, never "
        "the subject of an exception (rejected, failed, or parked until an exception was "
        "raised) — ÷ every message received in the month that was processed (any status but "
        "received: a parked or failed one counts against the share). Firm-wide ('*': "
        "messages have no entity)."),
    "dso": (
        "Days sales outstanding at the month's end, from the ar-aging report: AR (invoices "
        "less credit notes and payments) ÷ invoiced in the last three months × their days, by "
        "entity and currency; 'n/a' with nothing invoiced."),
    "revenue_waterfall": (
        "The ledger's revenue-waterfall report: revenue posted per month (credits less debits "
        "on revenue accounts) for the twelve months up to the period, by service line."),
    "deferred_revenue": (
        "The ledger's deferred-revenue report: the contract liability roll-forward (opening, "
        "additions, releases, closing) per month, credit-positive."),
    "rpo": (
        "The ledger's rpo report: remaining performance obligations from the stored revenue "
        "schedules (revenue scheduled after the period), in timing buckets."),
}


def _end(period: str) -> datetime:
    return datetime.combine(period_end(period), time(23, 59, 59), tzinfo=UTC)


def _as_of(period: str, now: datetime) -> datetime:
    return min(_end(period), now)


def over(period: str, now: datetime) -> bool:
    """Whether the month has ended by ``now``: its figures are then as of its end, whatever
    the clock says later (those of a month not over are as of now)."""
    return _end(period) <= now


def _only(rows: list[dict[str, Any]], entity: str | None) -> list[dict[str, Any]]:
    return rows if entity is None else [r for r in rows if r["entity"] == entity]


def _report(options: ReportOptions, conn: Connection, name: str, period: str,
            entity: str | None) -> dict[str, Any]:
    made = options.build(conn, name, period, entity=entity, as_of="now").as_dict()
    return {"notes": made["notes"], "tables": made["tables"]}


def compute_kpis(conn: Connection, period: str, *, entity: str | None = None,
                 options: ReportOptions | None = None, now: datetime | None = None,
                 ledger_reports: bool = True
                 ) -> dict[str, list[dict[str, Any]] | dict[str, Any]]:
    """Every KPI for ``period`` (YYYY-MM), for one legal entity or all. Values are Decimals
    (``None`` where a statistic has nothing to count); the three ledger reports are their
    tables as JSON (left out with ``ledger_reports=False``: the /metrics scrape)."""
    options = options or ReportOptions()
    entities = q.Entities(conn)
    raised, issued = q.billing_exceptions(conn, period, entities)
    settled, untouched = q.straight_through_counts(conn, period)
    as_of = _as_of(period, now or datetime.now(UTC))
    _, dso = ar_aging_tables(conn, period, entity=entity)
    figures: dict[str, list[dict[str, Any]] | dict[str, Any]] = {
        "project_setup_cycle_time": _only(f.duration_stats(
            q.setup_cycle_samples(conn, period)), entity),
        "time_to_invoice_latency": _only(f.duration_stats(
            q.time_to_invoice_samples(conn, period)), entity),
        "unbilled_approved_time": _only(f.sums_by(q.unbilled_time(conn, period)), entity),
        "billing_exception_rate": _only(f.exception_rate(raised, issued), entity),
        "unrecognized_fulfilled_milestones": _only(f.sums_by(
            q.unrecognized_milestones(conn, period)), entity),
        "amendments_awaiting_propagation": _only(f.waiting(
            q.amendments_waiting(conn, entities, as_of)), entity),
        "exception_aging": _only(f.aging(q.open_exception_ages(conn, as_of, entities)), entity),
        "straight_through_share": [f.straight_through(settled, untouched)],
        "dso": [{"entity": r["entity"], "currency": r["currency"], "ar": r["ar"],
                 "invoiced": r["invoiced"], "days": int(str(r["days"])),
                 "dso": r["dso"] if isinstance(r["dso"], Decimal) else None}
                for r in dso.as_dicts()],
    }
    if ledger_reports:
        figures["revenue_waterfall"] = _report(options, conn, "revenue-waterfall", period,
                                               entity)
        figures["deferred_revenue"] = _report(options, conn, "deferred-revenue", period, entity)
        figures["rpo"] = _report(options, conn, "rpo", period, entity)
    return figures


def jsonable(value: Any) -> Any:
    """Decimals as strings (money is never a float), ``None`` kept."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
