"""Recognition one contract at a time, as it was before its reads were batched (commit
61eb24f, `services/revenue/sync._recognize` and the per-contract reads it called): the oracle
of `test_revenue_batched`. Only the rules the two share are imported (the engine, the
billable rule, `_accounts`, `with_functional_amounts`, the posting); every read is its own
statement per contract, as then."""

# ruff: noqa: E501
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from syncline.adapters.db.billing_tables import billing_holds, contract_billing_terms, credit_notes
from syncline.adapters.db.ledger_tables import journal_line_details
from syncline.adapters.db.revenue_tables import (
    contract_amendments,
    line_recognition,
    revenue_estimates,
    revenue_schedules,
)
from syncline.adapters.db.tables import (
    billable_items,
    contract_lines,
    contracts,
    customers,
    invoices,
    journal_entries,
    journal_lines,
    milestones,
)
from syncline.billing.fx import FxRateMissing, lookup_rate
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.ledger.accounts import ChartOfAccounts, Charts, as_charts
from syncline.ledger.journal import Side
from syncline.ledger.money import Money
from syncline.ledger.periods import ClosedPeriodPolicy
from syncline.ledger.posting import (
    REVENUE_TRUE_UP,
    PostingError,
    PostingRule,
    PostingRules,
    post,
    source_type_of,
)
from syncline.revenue import ScheduleResult, compute_schedule
from syncline.revenue.model import RevenueError, RevenuePolicy
from syncline.revenue.units import amount
from syncline.services.billing.fx import load_fx_rates
from syncline.services.billing.run import month_bounds
from syncline.services.ledger.posting import post_entry, posting_failed
from syncline.services.messaging.exceptions import raise_once, resolve_if_open
from syncline.services.revenue.billable import COUNTED
from syncline.services.revenue.facts import build_contract, contract_numbers
from syncline.services.revenue.reads import ContractFacts
from syncline.services.revenue.sync import (
    RecognitionResult,
    _accounts,
    _refusal,
    with_functional_amounts,
)


def facts_one_by_one(conn: Connection, number: str) -> ContractFacts | None:
    """The facts `build_contract` read, by the statements it ran per contract then."""
    head = conn.execute(select(contracts, customers.c.name.label("customer_name"))
                        .join(customers).where(contracts.c.number == number)).first()
    if head is None:
        return None
    bi = billable_items.c
    return ContractFacts(
        head=head,
        amendments=tuple(conn.execute(select(contract_amendments).where(
            contract_amendments.c.contract_number == number).order_by(
            contract_amendments.c.effective_date, contract_amendments.c.amendment_id))),
        milestones=tuple(conn.execute(select(milestones).where(
            milestones.c.contract_id == head.id).order_by(milestones.c.milestone_id))),
        lines=tuple(conn.execute(select(contract_lines).where(
            contract_lines.c.contract_id == head.id).order_by(contract_lines.c.line_id))),
        stated={r.line_id: r.method for r in conn.execute(select(line_recognition).where(
            line_recognition.c.contract_number == number))},
        terms=conn.execute(select(contract_billing_terms).where(
            contract_billing_terms.c.contract_number == number)).first(),
        items=tuple(conn.execute(select(bi.key, bi.source, bi.service_date, bi.amount,
                                        bi.line_id, bi.adjusts, bi.currency).where(
            (bi.contract_number == number) & bi.source.in_(("time", "expense", "adjustment"))
            & bi.status.in_(COUNTED)).order_by(bi.key))),
        held=frozenset(conn.execute(select(billing_holds.c.item_key).where(
            (billing_holds.c.contract_number == number)
            & (billing_holds.c.status == "held"))).scalars()),
        invoices=tuple(conn.execute(select(invoices).where(
            invoices.c.contract_number == number).order_by(invoices.c.number))),
        credit_notes=tuple(conn.execute(select(credit_notes).where(
            credit_notes.c.contract_number == number).order_by(credit_notes.c.number))),
        revisions=tuple(conn.execute(select(revenue_estimates).where(
            revenue_estimates.c.contract_number == number).order_by(
            revenue_estimates.c.effective_date, revenue_estimates.c.estimate_id))))


def billed_net(conn: Connection, number: str, end: date) -> Decimal:
    """B: what the contract has billed through ``end``, net of tax: its invoices plus its
    credit notes, whose amounts are negative (a credit note reduces what was billed)."""
    invoiced = sum((r.subtotal for r in conn.execute(
        select(invoices.c.subtotal).where((invoices.c.contract_number == number)
                                          & (invoices.c.invoice_date <= end.isoformat())))),
        Decimal(0))
    credited = sum((r.subtotal for r in conn.execute(
        select(credit_notes.c.subtotal).where((credit_notes.c.contract_number == number)
                                              & (credit_notes.c.credit_date
                                                 <= end.isoformat())))), Decimal(0))
    return invoiced + credited


def store_schedule(conn: Connection, number: str, schedule: ScheduleResult, period: str,
                   version: int) -> None:
    _, end = month_bounds(period)
    stored_as_of = conn.execute(select(func.max(revenue_schedules.c.as_of)).where(
        revenue_schedules.c.contract_number == number)).scalar()
    if stored_as_of is not None and stored_as_of > end.isoformat():
        return
    reported = {(r.obligation_id, r.period): r for r in conn.execute(
        select(revenue_schedules).where((revenue_schedules.c.contract_number == number)
                                        & (revenue_schedules.c.period < period)))}
    cur = schedule.currency
    rows: list[dict[str, Any]] = []
    for ob in schedule.obligations:
        before = Decimal(0)  # cumulative reported at the end of the previous period
        for p, rev, cum, alloc in zip(schedule.periods, ob.revenue, ob.cumulative,
                                      ob.allocated, strict=True):
            row: dict[str, Any] = {"contract_number": number, "obligation_id": ob.obligation_id,
                   "period": p.key, "currency": cur, "revenue": amount(rev, cur),
                   "cumulative": amount(cum, cur), "allocated": amount(alloc, cur),
                   "method": ob.method.value, "as_of": end.isoformat(), "version": version}
            if reported and p.key < period:
                old = reported.get((ob.obligation_id, p.key))
                row.update(revenue=old.revenue if old else Decimal(0),
                           cumulative=old.cumulative if old else before,
                           allocated=old.allocated if old else row["allocated"])
            elif reported and p.key == period:
                row["revenue"] = row["cumulative"] - before
            before = row["cumulative"]
            rows.append(row)
    conn.execute(delete(revenue_schedules).where(
        revenue_schedules.c.contract_number == number))
    if rows:
        conn.execute(revenue_schedules.insert(), rows)



def _posted(conn: Connection, number: str, rule: PostingRule,
            accounts: dict[str, tuple[str, int]], until: date) -> dict[str, Decimal]:
    """Per amount key of the true-up rule, what the contract's revenue entries dated up to
    ``until`` posted, in the direction of its template line (entries of later periods are
    not the business of this period's true-up). An account the rule no longer names (a service
    line changed) counts for the amount key whose role varies by params, if there is one."""
    varying = {tl.amount for tl in rule.lines if "{" in tl.role}
    fallback = next(iter(varying)) if len(varying) == 1 else None
    sign_of = {key: sign for key, sign in accounts.values()}
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in conn.execute(select(journal_lines.c.account, journal_lines.c.side,
                                 journal_lines.c.amount)
                          .join(journal_entries)
                          .where((journal_entries.c.source_type
                                  == (source_type_of(rule)))
                                 & journal_entries.c.source_id.like(f"revenue:{number}:%")
                                 & (journal_entries.c.posting_date <= until.isoformat()))):
        signed = r.amount if r.side == Side.DEBIT.value else -r.amount
        key, sign = accounts.get(r.account, (fallback, sign_of.get(fallback or "", 1)))
        if key is not None:
            out[key] += sign * signed
    return out


def _carrying(conn: Connection, number: str, accounts: set[str], until: date,
              ) -> dict[str, tuple[Decimal, Decimal]]:
    """Per account, the contract's balance (transaction, functional; debit positive) from its
    invoices, credit notes and revenue entries dated up to ``until``."""
    inv = select(invoices.c.number).where(invoices.c.contract_number == number)
    notes = select(credit_notes.c.number).where(credit_notes.c.contract_number == number)
    je, jl, jd = journal_entries.c, journal_lines.c, journal_line_details.c
    q = (select(jl.account, jl.side, jl.amount, jd.functional_amount)
         .select_from(journal_lines.join(journal_entries).outerjoin(
             journal_line_details, (jd.entry_id == jl.entry_id) & (jd.line_no == jl.line_no)))
         .where(jl.account.in_(sorted(accounts)) & (je.posting_date <= until.isoformat())
                & (((je.source_type == "revenue") & je.source_id.like(f"revenue:{number}:%"))
                   | ((je.source_type == "invoice") & je.source_id.in_(inv))
                   | ((je.source_type == "credit_note") & je.source_id.in_(notes)))))
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for r in conn.execute(q):
        sign = 1 if r.side == Side.DEBIT.value else -1
        tx, fn = out.get(r.account, (Decimal(0), Decimal(0)))
        functional = r.functional_amount if r.functional_amount is not None else r.amount
        out[r.account] = (tx + sign * r.amount, fn + sign * functional)
    return out


def recognize_one_by_one(engine: Engine, period: str, charts: Charts | ChartOfAccounts, now: datetime,
               result: RecognitionResult, *, post_journals: bool, policy: RevenuePolicy,
               only: str | None, entity: str | None, rules: PostingRules,
               closed_period_policy: ClosedPeriodPolicy,
               functional: Mapping[str, str] | None) -> None:
    _, end = month_bounds(period)
    chart_set = as_charts(charts)
    functional_of = dict(functional) if functional is not None else {
        e.code: e.functional_currency for e in DEFAULT_REFERENCE.entities}
    with engine.begin() as conn:
        fx_rates = load_fx_rates(conn)
        numbers = [only] if only else contract_numbers(conn, until=end)
        for number in numbers:
            head = conn.execute(select(contracts).where(contracts.c.number == number)).first()
            if head is None or (entity and head.entity_code != entity):
                continue
            try:
                facts = facts_one_by_one(conn, number)
                rc = build_contract(conn, number, facts=facts) if facts else None
                if rc is None:
                    continue
                schedule = compute_schedule(rc, policy, as_of=end)
            except RevenueError as err:
                result.refused.append(number)
                _refusal(conn, number, period, err, now)
                continue
            result.contracts += 1
            cur = rc.currency
            store_schedule(conn, number, schedule, period, head.version)
            idx = schedule.as_of_index
            cum_r = amount(sum(ob.cumulative[idx] for ob in schedule.obligations), cur) \
                if idx >= 0 else Decimal(0)
            period_r = amount(sum(ob.revenue[idx] for ob in schedule.obligations), cur) \
                if idx >= 0 and schedule.periods[idx].key == period else Decimal(0)
            result.revenue[cur] = result.revenue.get(cur, Decimal(0)) + period_r
            line = {"contract": number, "entity": head.entity_code, "currency": cur,
                    "period_revenue": str(period_r), "cumulative": str(cum_r)}
            result.by_contract.append(line)
            if not post_journals:
                continue
            chart = chart_set.of(head.entity_code)
            rule = rules.rule(REVENUE_TRUE_UP, head.entity_code)
            params = {"contract": number, "service_line": head.service_line,
                      "as_of": end.isoformat(), "period": period}
            accounts = _accounts(rule, chart, params)
            if isinstance(accounts, PostingError):
                result.posting_failed.append(number)
                posting_failed(conn, replace(accounts, source_id=f"revenue:{number}:{period}"),
                               now, retry="re-run the recognition for the period")
                continue
            billed = billed_net(conn, number, end)
            target = {"revenue": cum_r, "liability": min(billed, cum_r),
                      "unbilled": max(Decimal(0), cum_r - billed)}
            done = _posted(conn, number, rule, accounts, end)
            delta = {k: v - done.get(k, Decimal(0)) for k, v in target.items()}
            if all(v == 0 for v in delta.values()):
                continue
            base = f"revenue:{number}:{period}"
            taken = {r.source_id for r in conn.execute(select(journal_entries.c.source_id)
                                                       .where(journal_entries.c.source_id
                                                              .like(f"{base}%")))}
            source_id = base if base not in taken else f"{base}:r{len(taken) + 1}"
            line.update({"true_up": source_id,
                         **{f"true_up_{k}": str(v) for k, v in delta.items()}})
            made = post(rule, {k: Money(v, cur) for k, v in delta.items()}, chart=chart,
                        entity_id=head.entity_code, posting_date=end, source_id=source_id,
                        params=params)
            if isinstance(made, PostingError):
                result.posting_failed.append(number)
                posting_failed(conn, made, now, retry="re-run the recognition for the period")
                continue
            base_currency = functional_of.get(head.entity_code, cur)
            if cur != base_currency:  # a foreign-currency contract: functional amounts too
                closing = lookup_rate(fx_rates, base=cur, quote=base_currency, on=end)
                if isinstance(closing, FxRateMissing):
                    result.refused.append(number)
                    raise_once(conn, Problem(
                        "revenue.fx_rate_missing", BusinessDomain.FINANCE,
                        f"no {cur}->{base_currency} rate on or before {end} for the revenue "
                        f"of contract {number} ({head.entity_code})",
                        f"Publish the {cur}/{base_currency} closing rate (fx.rates_published) "
                        "and run the recognition (or the close) for the period again.",
                        "currency", severity=Severity.HIGH,
                        objects=(("contract", number), ("period", period))), now)
                    continue
                balances = {chart.code("contract_liability"): "contract liability",
                            chart.code("unbilled_receivable"): "unbilled receivable"}
                made = with_functional_amounts(
                    made, functional=base_currency, closing=closing,
                    carrying=_carrying(conn, number, set(balances), end),
                    balance_accounts=balances, number=number)
                resolve_if_open(conn, "revenue.fx_rate_missing",
                                (("contract", number), ("period", period)), now,
                                f"the {cur}/{base_currency} rate of {closing.as_of} is published")
            result.journal_entries += post_entry(conn, made, now, closed_period_policy)
