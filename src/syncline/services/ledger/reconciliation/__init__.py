"""The close reconciliation: the checks of DESIGN.md §8 that the stored data supports, each
with totals and every difference by cause and object (``close_reconciliation``). Each check
adds its summary rows and differences to a ``Recon`` (``core``): PSA, approved, costed and
billed hours and labor cost (``hours``), invoiced items, AR and unbilled against the GL
(``billing``), contract positions and revenue against the GL (``revenue``), intercompany
balances and charges (``intercompany``), the FX revaluation (``fx``); the open critical
exceptions are listed (``exceptions``). Everything is derived on demand; nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.ledger.accounts import DEFAULT_CHART, ChartOfAccounts, Charts
from syncline.ledger.posting import DEFAULT_RULES, PostingRules
from syncline.ledger.reports import Table
from syncline.services.ledger.carried import load_books
from syncline.services.ledger.queries import charts_for, functional_currencies
from syncline.services.ledger.reconciliation.billing import (
    ar_vs_gl,
    items_vs_lines,
    unbilled_vs_gl,
)
from syncline.services.ledger.reconciliation.core import CHECK_COLUMNS, DIFF_COLUMNS, Recon
from syncline.services.ledger.reconciliation.exceptions import open_exceptions
from syncline.services.ledger.reconciliation.fx import revaluation_check
from syncline.services.ledger.reconciliation.hours import (
    hours_checks,
    labor_cost_vs_gl,
    psa_hours_vs_recorded,
)
from syncline.services.ledger.reconciliation.intercompany import intercompany_checks
from syncline.services.ledger.reconciliation.revenue import (
    contract_positions_vs_gl,
    revenue_vs_gl,
)
from syncline.services.ledger.reports.common import ZERO, Report


def close_reconciliation(conn: Connection, period: str, *, entity: str | None = None,
                         ref: ReferenceData = DEFAULT_REFERENCE,
                         chart: Charts | ChartOfAccounts = DEFAULT_CHART,
                         revenue_mode: str = "on_invoice", revaluation: Any = None,
                         functional: Mapping[str, str] | None = None,
                         rules: PostingRules = DEFAULT_RULES) -> Report:
    """The close checks for ``period``: a summary row per check, entity and unit; every
    difference by cause and object; the open critical exceptions. ``revaluation``: the
    ledger configuration's ``RevaluationPolicy`` (the revaluation check is skipped without
    it); ``functional``: functional currency per entity (the reference data's by default);
    ``rules``: the posting rules (which account a labor cost entry costs)."""
    charts = charts_for(conn, ref, chart)
    books = load_books(conn, period, charts, entity=entity)  # carried balances: ADR 0014
    rec = Recon()
    psa_hours_vs_recorded(conn, rec, period, entity)
    hours_checks(conn, rec, period, entity)
    labor_cost_vs_gl(conn, rec, period, books.entries, charts, entity, rules)
    items_vs_lines(conn, rec, period, entity)
    ar_vs_gl(conn, rec, period, books, charts, entity)
    if revenue_mode == "engine":
        contract_positions_vs_gl(conn, rec, period, books, charts, entity)
    else:
        unbilled_vs_gl(conn, rec, period, books, charts, entity)
        rec.skipped("deferred subledger = GL",
                    "revenue is recognized on invoice (on_invoice mode): no deferred revenue")
    revenue_vs_gl(conn, rec, period, books, charts, entity, revenue_mode)
    intercompany_checks(conn, rec, period, books, charts, entity)
    revaluation_check(conn, rec, period, books, charts, entity, revaluation,
                       functional or functional_currencies(ref))
    excs = open_exceptions(conn)
    rec.checks.append(("open critical exceptions", entity or "", "count", ZERO,
                       Decimal(len(excs.rows)), Decimal(len(excs.rows)), str(len(excs.rows)),
                       "ok" if not excs.rows else "differences", "listed below"))
    if entity:
        rec.diffs = [d for d in rec.diffs if d[4] == entity]
    ok = all(c[7] in ("ok", "skipped") for c in rec.checks)
    return Report("close-reconciliation", period, entity, (
        Table(f"Close reconciliation {period}", CHECK_COLUMNS, tuple(rec.checks)),
        Table("Differences by cause and object", DIFF_COLUMNS, tuple(rec.diffs)),
        excs,
    ), ("All checks agree." if ok else "Some checks show differences: see the differences "
        "table (cause and object).",))
