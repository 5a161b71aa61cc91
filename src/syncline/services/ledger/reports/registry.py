"""The report registry: ``build_report(conn, name, period, entity=…)`` for each name in
``REPORTS``:

- ``trial-balance``: balances as at the end of the period (every entry dated on or before it);
- ``revenue-waterfall``: revenue per month for the months up to the period, by service line;
- ``deferred-revenue``: the contract liability roll-forward over the same months;
- ``rpo``: remaining performance obligations from the stored revenue schedules (periods after
  the report period), in timing buckets; empty with a note when no schedule is stored;
- ``unbilled-aging``: what was approved/generated but not invoiced at the period end (billable
  items by service date, FIFO per project), and GL unbilled/WIP balances aged FIFO;
- ``ar-aging``: receivables by customer and days past due at the period end (invoices less
  credit notes and payments), and DSO per entity and currency (``receivables.py``);
- ``margin``: by project and by service line for the period — revenue from invoices plus
  the credit notes (negative), or from revenue schedules in revenue-engine mode; labor cost
  from approved time at the HR cost rate effective on each work date (``time_entries`` ×
  ``worker_versions``);
- ``close-reconciliation``: the checks of DESIGN.md §8 that the stored data supports, each
  with totals and every difference by cause and object (see
  ``syncline.services.ledger.reconciliation.close_reconciliation``).

The first three are built by the pure ``syncline.ledger.reports`` from the stored entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.ledger.accounts import DEFAULT_CHART, ChartOfAccounts, Charts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import is_period_name, period_of
from syncline.ledger.posting import DEFAULT_RULES, PostingRules
from syncline.ledger.reports import (
    deferred_revenue_rollforward,
    revenue_waterfall,
    trial_balance_table,
)
from syncline.services.ledger.carried import load_books
from syncline.services.ledger.queries import (
    charts_for,
    entries_held,
    load_entries,
    period_end,
)
from syncline.services.ledger.reports.aging import aged_entries, unbilled_aging_table
from syncline.services.ledger.reports.common import Report, months_up_to
from syncline.services.ledger.reports.margin import margin_tables
from syncline.services.ledger.reports.receivables import ar_aging_tables
from syncline.services.ledger.reports.rpo import rpo_table
from syncline.services.ledger.reports.snapshots import SNAPSHOT_REPORTS, reported, store

REPORTS: tuple[str, ...] = (
    "trial-balance", "revenue-waterfall", "deferred-revenue", "rpo", "unbilled-aging",
    "ar-aging", "margin", "close-reconciliation",
)


class ReportSystem(Protocol):
    """What the report options are read from (bootstrap's ``Syncline`` provides it)."""

    settings: Any

    @property
    def ref(self) -> ReferenceData: ...

    @property
    def charts(self) -> Charts: ...

    @property
    def ledger(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What a report needs of the configuration — the same for every caller, so a report
    asked for over HTTP or from the CLI is built exactly as the close builds it (the
    revaluation policy and functional currencies included)."""

    ref: ReferenceData = DEFAULT_REFERENCE
    chart: Charts | ChartOfAccounts = DEFAULT_CHART
    revenue_mode: str = "on_invoice"
    revaluation: Any = None  # the ledger configuration's RevaluationPolicy
    functional: Mapping[str, str] | None = None
    rules: PostingRules = DEFAULT_RULES

    def build(self, conn: Connection, name: str, period: str, *, entity: str | None = None,
              months: int = 12, as_of: str = "close") -> Report:
        return build_report(conn, name, period, entity=entity, ref=self.ref, chart=self.chart,
                            months=months, revenue_mode=self.revenue_mode,
                            revaluation=self.revaluation, functional=self.functional,
                            rules=self.rules, as_of=as_of)


def report_options(system: ReportSystem) -> ReportOptions:
    """The one place entry points and the close take the report options from."""
    return ReportOptions(system.ref, system.charts, system.settings.revenue_recognition,
                         system.ledger.fx_revaluation, system.ledger.functional_currencies,
                         system.ledger.rules)


def record_close(conn: Connection, period: str, options: ReportOptions, *,
                 entities: Iterable[str], whole_firm: bool, now: datetime) -> int:
    """Record what the close of ``period`` reports (``snapshots``): every report that reads
    operational facts, for each entity just closed and, when the whole firm closed, for the
    firm. Called in the transaction that closes the period. Returns the reports stored."""
    scopes: list[str | None] = [None] if whole_firm else []
    scopes += sorted(entities)
    stored = 0
    with entries_held(conn):  # the books through the period read once for every scope
        for scope in scopes:
            for name in SNAPSHOT_REPORTS:
                store(conn, options.build(conn, name, period, entity=scope, as_of="now"),
                      now=now)
                stored += 1
    return stored


AS_OF: tuple[str, ...] = ("close", "now")


class UnknownReport(ValueError):
    pass


def _trim(months: list[str], entries: Sequence[JournalEntry]) -> list[str]:
    """Drop leading months before the first entry (keeps at least the last month)."""
    if not entries:
        return months[-1:]
    first = min(period_of(e.posting_date) for e in entries)
    kept = [m for m in months if m >= first]
    return kept or months[-1:]


def build_report(
    conn: Connection,
    name: str,
    period: str,
    *,
    entity: str | None = None,
    ref: ReferenceData = DEFAULT_REFERENCE,
    chart: Charts | ChartOfAccounts = DEFAULT_CHART,
    months: int = 12,
    revenue_mode: str = "on_invoice",
    revaluation: Any = None,
    functional: Mapping[str, str] | None = None,
    rules: PostingRules = DEFAULT_RULES,
    as_of: str = "close",
) -> Report:
    """The report ``name`` for ``period``. ``as_of="close"`` (the default): a closed or locked
    period's report as its close recorded it, an open period's as known now; ``"now"``: as
    known now, whatever the period's status (docs/ledger.md, "Closed periods do not
    change")."""
    if name not in REPORTS:
        raise UnknownReport(f"unknown report {name!r}: expected one of {', '.join(REPORTS)}")
    if not is_period_name(period):
        raise ValueError(f"not a period {period!r}: expected YYYY-MM")
    if as_of not in AS_OF:
        raise ValueError(f"as_of must be one of {', '.join(AS_OF)}, got {as_of!r}")
    if as_of == "close":
        recorded = reported(conn, name, period, entity, [e.code for e in ref.entities])
        if recorded is not None:
            return recorded
    if name == "close-reconciliation":
        # imported here: the reconciliation imports this package's ``common``, which runs this
        # package's __init__ and so this module; at the top, importing the reconciliation
        # first would fail (close_reconciliation is not defined yet)
        from syncline.services.ledger.reconciliation import close_reconciliation

        return close_reconciliation(conn, period, entity=entity, ref=ref, chart=chart,
                                    revenue_mode=revenue_mode, revaluation=revaluation,
                                    functional=functional, rules=rules)
    if name == "ar-aging":
        return Report(name, period, entity, ar_aging_tables(conn, period, entity=entity), (
            "Open invoices (total less credit notes and payments dated on or before the "
            "period end) by days past due; DSO = AR ÷ invoiced in the last three months × "
            "their days.",))
    if name == "rpo":
        table, notes = rpo_table(conn, period, entity=entity)
        return Report(name, period, entity, (table,), tuple(notes))
    charts = charts_for(conn, ref, chart)
    if name == "margin":  # the books carried through a month before (ADR 0014) and after it
        tables, notes = margin_tables(conn, period, entity=entity, revenue_mode=revenue_mode,
                                      books=load_books(conn, period, charts, entity=entity),
                                      charts=charts)
        return Report(name, period, entity, tables, tuple(notes))
    if name == "unbilled-aging":  # first in, first out: the entries on its accounts, whole
        return Report(name, period, entity, (unbilled_aging_table(
            conn, period, aged_entries(conn, period, charts, entity), charts, entity=entity),), (
                "billable_items: approved work not invoiced at the period end, aged "
                "by service date; gl:<role>: GL balances aged first in, first out.",))
    entries = load_entries(conn, through=period, entity=entity)
    if name == "trial-balance":
        return Report(name, period, entity, (trial_balance_table(entries, charts),), (
            f"Balances as at {period_end(period).isoformat()}: every entry dated on or before "
            "it, in the transaction currency.",))
    window = _trim(months_up_to(period, months), entries)
    if name == "revenue-waterfall":
        return Report(name, period, entity, (revenue_waterfall(entries, charts, window),), (
            "Revenue posted per month (credits less debits on revenue accounts).",))
    return Report(name, period, entity,
                  (deferred_revenue_rollforward(entries, charts, window),),
                  ("Contract liability (deferred revenue), credit-positive.",))
