"""Close reconciliation, revenue: (revenue-engine mode) each contract's net position as unbilled
receivable or deferred revenue vs the GL, and the revenue schedules of the period vs the
revenue posted in it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import invoices
from syncline.ledger.accounts import AccountType, ChartOfAccounts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import period_of
from syncline.services.ledger.reconciliation.core import Recon, gl_balance
from syncline.services.ledger.reports.common import ZERO, credit_notes, revenue_schedules
from syncline.services.revenue.sync import contract_positions


def contract_of_entries(conn: Connection) -> Callable[[JournalEntry], str | None]:
    """The contract a journal entry belongs to: an invoice's or a credit note's contract, or
    the contract of a revenue true-up (``revenue:<contract>:<period>[:rN]``); None for the
    others (accruals, labor cost, intercompany …)."""
    of_doc = {r.number: r.contract_number for r in conn.execute(
        select(invoices.c.number, invoices.c.contract_number))}
    of_doc.update((n.number, n.contract_number) for n in credit_notes(conn))

    def contract_of(e: JournalEntry) -> str | None:
        if e.source_type in ("invoice", "credit_note"):
            return of_doc.get(e.source_id)
        if e.source_type == "revenue" and e.source_id.startswith("revenue:"):
            return e.source_id.split(":")[1]
        return None

    return contract_of


def contract_positions_vs_gl(conn: Connection, rec: Recon, period: str,
                              entries: Sequence[JournalEntry],
                              charts: Mapping[str, ChartOfAccounts],
                              entity: str | None) -> None:
    """Revenue-engine mode: per contract, revenue R against billings B (net of credits)
    gives one net position (ASC 606-10-45-1): unbilled receivable max(0, R − B) or deferred
    revenue max(0, B − R). The subledgers are their sums; the GL must hold the same. Where
    an (entity, currency) differs, each contract's position is listed against the GL posted
    by its own documents and true-ups, so the differences sum to the gap."""
    positions = [p for p in contract_positions(conn, period) if not entity or p[1] == entity]
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
        for e in entries:
            number = contract_of(e)
            if number is None:
                continue
            for (ent, cur), amount in gl_balance((e,), charts, role).items():
                by_contract[(ent, cur)][number] += amount * sign
        for key, amount in gl_balance(entries, charts, role).items():
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
                   entries: Sequence[JournalEntry], charts: Mapping[str, ChartOfAccounts],
                   entity: str | None, revenue_mode: str) -> None:
    check = "revenue schedules = GL revenue"
    schedules = [s for s in revenue_schedules(conn) if s.period == period]
    if not schedules:
        rec.skipped(check, "no revenue schedules stored for the period")
        return
    if revenue_mode != "engine":
        rec.skipped(check, "revenue is recognized on invoice (SYNCLINE_REVENUE_RECOGNITION="
                           "on_invoice): schedules do not drive the GL")
        return
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for s in schedules:
        totals[(s.entity_code, s.currency)][0] += s.revenue
    for e in entries:
        if period_of(e.posting_date) != period:
            continue
        chart = charts.get(e.entity_id)
        for ln in e.lines:
            account = chart.by_code(ln.account) if chart else None
            if account is not None and account.type is AccountType.REVENUE \
                    and account.role.startswith("revenue:"):
                totals[(e.entity_id, ln.amount.currency)][1] -= ln.signed
    for (ent, cur), (sched, gl) in totals.items():
        if sched != gl:
            rec.diff(check, "amount_differs", "entity", ent, ent, cur, sched, gl,
                     "scheduled revenue of the period vs revenue posted in it")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()}, entity=entity)
