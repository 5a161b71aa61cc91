"""Close reconciliation, revenue: (revenue-engine mode) each contract's net position as unbilled
receivable or deferred revenue vs the GL, and the revenue schedules of the period vs the
revenue posted in it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import Connection

from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.carried import Books
from syncline.services.ledger.held import held
from syncline.services.ledger.reconciliation.core import (
    Recon,
    books_balance,
    carried_on,
    gl_balance,
)
from syncline.services.ledger.reports.common import (
    ZERO,
    contract_of_entries,
    posted_revenue,
    revenue_schedules,
    scheduled_cumulative,
)
from syncline.services.revenue.sync import contract_positions


def contract_positions_vs_gl(conn: Connection, rec: Recon, period: str,
                              books: Books, charts: Mapping[str, ChartOfAccounts],
                              entity: str | None) -> None:
    """Revenue-engine mode: per contract, revenue R against billings B (net of credits)
    gives one net position (ASC 606-10-45-1): unbilled receivable max(0, R − B) or deferred
    revenue max(0, B − R). The subledgers are their sums; the GL must hold the same. Where
    an (entity, currency) differs, each contract's position is listed against the GL posted
    by its own documents and true-ups, so the differences sum to the gap."""
    positions = [p for p in held(conn, ("contract_positions", period),  # every scope's
                                 lambda: contract_positions(conn, period))
                 if not entity or p[1] == entity]
    contract_of = contract_of_entries(conn)
    for check, role, sign, cause in (
            ("unbilled subledger = GL", "unbilled_receivable", 1, "contract_asset"),
            ("deferred subledger = GL", "contract_liability", -1, "contract_liability")):
        totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        sub: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
        for number, ent, cur, revenue, billed in positions:
            value = max(ZERO, (revenue - billed) * sign)
            totals[(ent, cur)][0] += value
            if value:
                sub[(ent, cur)][number] = value
        by_contract: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
            lambda: defaultdict(Decimal))
        for c in carried_on(books, charts, role):  # the books carried (ADR 0014)
            if c.key.contract:
                by_contract[(c.key.entity, c.key.currency)][c.key.contract] += c.amount * sign
        for e in books.entries:
            owner = contract_of(e)
            if owner is None:
                continue
            for (ent, cur), amount in gl_balance((e,), charts, role).items():
                by_contract[(ent, cur)][owner] += amount * sign
        for key, amount in books_balance(books, charts, role).items():
            totals[key][1] = amount * sign
        for (ent, cur), (expected, actual) in sorted(totals.items()):
            if expected != actual:
                rec.attribute(check, ent, cur, obj="contract", subledger=sub[(ent, cur)],
                              gl={k: v for k, v in by_contract[(ent, cur)].items() if v},
                              gl_total=actual, causes=(cause, "gl_without_position",
                                                       "amount_differs"),
                              rest=("gl_not_by_contract", "account", role),
                              detail="the contract's position (subledger) vs the GL posted "
                                     "by its invoices, credit notes and true-ups")
        rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
                  "per contract: revenue recognized vs billed net of credit notes",
                  entity=entity)


def revenue_vs_gl(conn: Connection, rec: Recon, period: str,
                   books: Books, charts: Mapping[str, ChartOfAccounts],
                   entity: str | None, revenue_mode: str) -> None:
    """Revenue the period must post vs revenue posted in it: per contract, its schedule's
    cumulative revenue at the period end (as known now) less the revenue posted for it before
    the period — a late change (a credit, a released hold, an estimate) is caught up in the
    open period, never in the closed month it concerns. Differences by contract, summing to
    the gap (revenue on no contract is one more row)."""
    check = "revenue schedules = GL revenue"
    if not any(s.period == period for s in revenue_schedules(conn)):
        rec.skipped(check, "no revenue schedules stored for the period")
        return
    if revenue_mode != "engine":
        rec.skipped(check, "revenue is recognized on invoice (SYNCLINE_REVENUE_RECOGNITION="
                           "on_invoice): schedules do not drive the GL")
        return
    cumulative = scheduled_cumulative(conn, period)
    posted = posted_revenue(books, charts, contract_of_entries(conn), period)
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    expected: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for number, (ent, cur, cum) in cumulative.items():
        due = cum - posted.before.get(number, ZERO)
        totals[(ent, cur)][0] += due
        expected[(ent, cur)][number] = due
    for key, amount in posted.total.items():
        totals[key][1] = amount
    for (ent, cur), (want, got) in sorted(totals.items()):
        if want != got:
            during = {n: posted.during.get(n, ZERO) for n in expected[(ent, cur)]}
            rec.attribute(check, ent, cur, obj="contract",
                          subledger={k: v for k, v in expected[(ent, cur)].items() if v},
                          gl={k: v for k, v in during.items() if v}, gl_total=got,
                          causes=("not_posted", "posted_without_schedule", "amount_differs"),
                          rest=("revenue_without_schedule", "account", "revenue"),
                          detail="cumulative scheduled revenue at the period end less revenue "
                                 "posted before it vs revenue posted in the period")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "per contract: cumulative scheduled revenue at the period end less revenue "
              "posted before the period vs revenue posted in it", entity=entity)
