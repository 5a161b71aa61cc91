"""The invoice run per billing cycle and legal entity, on the pure billing engine: for each
legal entity (or the one asked for), in one transaction, the entity's contracts are loaded
with their terms and caps (``terms``); pending credit requests become numbered, posted credit
notes naming the items they reverse (``credits``); the retainer fees due (and prepaid
blocks, and the fixed-fee differences of amendments) and drawdown time are generated
(``retainers``); the open items of the run's entities are aggregated in SQL
into invoice lines (``items``); per entity, contracts with caps or a drawdown retainer go item
by item through the pure engine (``caps``) and each contract gets one invoice with a gapless
number, a release journal and outbox rows, a contract with a blocking problem being left out
whole as one billing exception (``invoices``); the aggregated items then move to
``invoiced`` in bulk (``items``), the batched writes are flushed (``cycle``), approved
time is costed (``labor_cost``), expenses not rebilled are journaled at cost
(``expense_cost``) and payments received are applied to their invoices (``payments``: cash,
receivable, realized FX). Idempotent: an invoiced item is never selected again, a
contract gets at most one invoice per period (late items wait for the next cycle), retainer
keys and journal sources are natural, problems open one exception each however often the
cycle runs.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine, select

from syncline.adapters.db.tables import contracts
from syncline.billing.tax import tax_code_from_profile
from syncline.domain.reference import LegalEntity, ReferenceData
from syncline.ledger.accounts import ChartOfAccounts, Charts, as_charts
from syncline.ledger.periods import ClosedPeriodPolicy, period_end, period_start
from syncline.ledger.posting import DEFAULT_RULES, PostingRules
from syncline.services.billing.fx import load_fx_rates
from syncline.services.billing.run.credits import issue_credit_notes
from syncline.services.billing.run.cycle import Run, RunResult, billing_problem
from syncline.services.billing.run.expense_cost import post_expense_cost
from syncline.services.billing.run.invoices import invoice_entity
from syncline.services.billing.run.items import aggregate_lines, mark_invoiced
from syncline.services.billing.run.labor_cost import post_labor_cost
from syncline.services.billing.run.payments import post_payments, release_invoices
from syncline.services.billing.run.retainers import (
    drawdown_time,
    price_changes_due,
    retainer_fees_due,
)
from syncline.services.billing.run.terms import Contract, load_contracts
from syncline.services.messaging.leases import hold_alone

__all__ = ["RunResult", "month_bounds", "run_billing"]


def month_bounds(period: str) -> tuple[date, date]:
    return period_start(period), period_end(period)


def run_billing(engine: Engine, period: str, ref: ReferenceData,
                chart: Charts | ChartOfAccounts, now: datetime, *,
                entity: str | None = None, dry_run: bool = False,
                revenue_recognition: str = "on_invoice", labor_cost: bool = True,
                rules: PostingRules = DEFAULT_RULES,
                closed_period_policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE,
                ) -> RunResult:
    """The invoice run for ``period`` (YYYY-MM), every legal entity or ``entity`` only;
    journals post in each entity's own chart (``chart``: charts by entity, or one template)
    by ``rules`` (invoice release, credit note, labor cost; a firm's from its ledger
    configuration). A document its rule cannot journal is left for the next run and opens
    one finance exception; the rest of the run goes on."""
    charts = as_charts(chart)
    start, end = month_bounds(period)
    result = RunResult(period=period, dry_run=dry_run)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # a run rewrites many item pages: cache them
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
            conn.commit()
        tx = conn.begin()
        hold_alone(conn)  # PostgreSQL: no leased apply batch writes outbox rows meanwhile
        run = Run(conn, ref, charts, now, start, end, period,
                  engine_mode=revenue_recognition == "engine",
                  tax_codes=tuple(tax_code_from_profile(p) for p in ref.tax_profiles),
                  fx=load_fx_rates(conn), result=result, rules=rules,
                  policy=closed_period_policy)
        codes = [entity] if entity else sorted(set(conn.execute(
            select(contracts.c.entity_code).distinct()).scalars()))
        entities: list[tuple[LegalEntity, dict[str, Contract]]] = []
        for code in codes:
            legal = ref.entity(code)
            if legal is None:
                run.problem(billing_problem(
                    "billing.unknown_entity", f"legal entity {code!r} is not configured",
                    "Use an ERP legal entity code (e.g. US01) for the run.",
                    ("entity", code)))
                continue
            terms = load_contracts(conn, code)
            issue_credit_notes(run, legal)
            retainer_fees_due(run, terms)
            price_changes_due(run, terms)
            drawdown_time(run, terms)
            entities.append((legal, terms))
        currency_of = {n: c.currency for _, terms in entities for n, c in terms.items()}
        lines_of = aggregate_lines(run, entity, currency_of)
        for legal, terms in entities:
            invoice_entity(run, legal, terms, lines_of)
        mark_invoiced(run, run.bulk)
        run.flush()
        release_invoices(run)  # payments that waited for an invoice numbered now
        result.journal_entries += post_payments(run, entity)
        if labor_cost:  # the costs of the period: approved time, expenses not rebilled
            result.journal_entries += post_labor_cost(run, entity)
            result.journal_entries += post_expense_cost(run, entity)
        if dry_run:
            tx.rollback()
        else:
            tx.commit()
    return result
