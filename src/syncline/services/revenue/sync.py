"""Revenue recognition for a period: schedules persisted, journals trued up, idempotently.

For each contract started by the period end, the engine computes the schedule as of the
period end from the stored facts (`revenue_facts`). The schedule rows replace the contract's
stored schedule, and one journal entry moves the ledger from what was already posted for the
contract to the target position at the period end:

    revenue (credit)                 = cumulative recognized revenue R
    contract liability (debit)       = min(B, R)   (releases deferred revenue)
    unbilled receivable (debit)      = max(0, R − B)   (contract asset)

where B is the contract's cumulative net billed amount (invoices plus credit notes, whose
amounts are negative; net of tax; `billable.billed_net`), which the billing run moved
through contract liability. So per contract: liability = max(0, B − R), asset =
max(0, R − B) — one net position (ASC 606-10-45-1). Re-running a period posts nothing; a fact
that arrives late is picked up as a catch-up in the next run, with its own source id.

The entry comes from the posting rule ``revenue.true_up`` (``ledger.posting``) with *signed*
amounts ``unbilled``, ``liability`` and ``revenue``, each the change from what is posted to
the target, measured in the direction of its template line (a negative change posts on the
other side). What is posted is read back per account of the rule's lines, so a firm that
maps the true-up to its own accounts gets the same netting. A rule that cannot post (role
not mapped in the entity's chart, …) opens one finance exception; the other contracts post.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, select

from syncline.adapters.db.billing_tables import credit_notes
from syncline.adapters.db.ledger_tables import journal_line_details
from syncline.adapters.db.tables import contracts, invoices, journal_entries, journal_lines
from syncline.billing.fx import FxRateMissing, FxSnapshot, lookup_rate
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.ledger.accounts import ChartOfAccounts, Charts, UnknownAccountRole, as_charts
from syncline.ledger.journal import JournalEntry, JournalLine, Side
from syncline.ledger.money import Money
from syncline.ledger.periods import ClosedPeriodPolicy
from syncline.ledger.posting import (
    DEFAULT_RULES,
    REVENUE_TRUE_UP,
    PostingError,
    PostingRule,
    PostingRules,
    post,
    source_type_of,
)
from syncline.revenue import compute_schedule
from syncline.revenue.model import RevenueError, RevenuePolicy
from syncline.revenue.units import amount
from syncline.services.billing.fx import load_fx_rates
from syncline.services.billing.run import month_bounds
from syncline.services.ledger.posting import post_entry, posting_failed
from syncline.services.messaging.exceptions import raise_exception, raise_once, resolve_if_open
from syncline.services.revenue.billable import billed_net
from syncline.services.revenue.facts import build_contract, contract_numbers
from syncline.services.revenue.stored import contract_positions, store_schedule, stored_schedule

__all__ = ["DEFAULT_POLICY", "RecognitionResult", "billed_net", "contract_positions",
           "recognize", "stored_schedule", "with_functional_amounts"]

DEFAULT_POLICY = RevenuePolicy()


@dataclass
class RecognitionResult:
    period: str
    contracts: int = 0
    journal_entries: int = 0
    refused: list[str] = field(default_factory=list)
    posting_failed: list[str] = field(default_factory=list)  # rule could not post (exception)
    revenue: dict[str, Decimal] = field(default_factory=dict)  # period revenue by currency
    dry_run: bool = False
    # per contract: its revenue in the period and the true-up posted (or, dry, that would be)
    by_contract: list[dict[str, str]] = field(default_factory=list)


class _DryRun(Exception):
    """Ends a dry run's transaction: everything it wrote is rolled back."""


def _accounts(rule: PostingRule, chart: ChartOfAccounts, params: dict[str, str],
              ) -> dict[str, tuple[str, int]] | PostingError:
    """Account → (amount key, +1 for a debit line / −1 for a credit line) of the rule."""
    values = {"entity_id": chart.entity_id, "source_id": "", **params}
    out: dict[str, tuple[str, int]] = {}
    for tl in rule.lines:
        role = tl.role.format_map(values)
        try:
            account = chart.code(role)
        except UnknownAccountRole:
            return PostingError(rule.event, "", "unmapped_role",
                                f"the chart of {chart.entity_id} maps no account to role "
                                f"{role!r}", role=role, entity_id=chart.entity_id,
                                source_type=source_type_of(rule))
        if account in out and out[account][0] != tl.amount:
            return PostingError(rule.event, "", "ambiguous_account",
                                f"roles of amounts {out[account][0]!r} and {tl.amount!r} map "
                                f"to the same account {account}: the true-up cannot tell "
                                "them apart", role=role, entity_id=chart.entity_id,
                                source_type=source_type_of(rule))
        out[account] = (tl.amount, 1 if tl.side is Side.DEBIT else -1)
    return out


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


def with_functional_amounts(entry: JournalEntry, *, functional: str, closing: FxSnapshot,
                            carrying: Mapping[str, tuple[Decimal, Decimal]],
                            balance_accounts: Mapping[str, str], number: str,
                            ) -> JournalEntry:
    """Functional amounts for a foreign-currency true-up (the stated rule):

    - a line that reduces the contract's contract liability or unbilled receivable takes the
      balance's carrying rate (its historical rate: revenue out of an advance is measured at
      the rate of the advance, IFRIC 22 / ASC 830), a line that adds to it the closing rate;
    - the revenue line is the balancing line (the sum of the others), so the entry balances
      in the functional currency; without a revenue line (a pure reclassification) the
      unbilled line balances.
    """
    converted: list[JournalLine | None] = []
    for ln in entry.lines:
        role = balance_accounts.get(ln.account)
        if role is None:
            converted.append(None)
            continue
        tx, fn = carrying.get(ln.account, (Decimal(0), Decimal(0)))
        reduces = tx != 0 and (ln.signed > 0) != (tx > 0)
        if reduces:
            rate = (fn / tx).quantize(Decimal("1e-10"))
            source = f"carrying rate of the {role} of contract {number}"
        else:
            rate, source = closing.rate, closing.source
        converted.append(replace(ln, functional=Money(ln.amount.amount * rate,
                                                      functional).rounded(),
                                 fx_rate=rate, fx_source=source, fx_date=closing.as_of))
    open_lines = [i for i, c in enumerate(converted) if c is None]
    if not open_lines:  # no revenue line: the unbilled line balances
        open_lines = [i for i, ln in enumerate(entry.lines)
                      if balance_accounts.get(ln.account) == "unbilled receivable"][:1]
    first, others = open_lines[0], open_lines[1:]

    def at_closing(ln: JournalLine) -> JournalLine:
        return replace(ln, functional=Money(ln.amount.amount * closing.rate,
                                            functional).rounded(),
                       fx_rate=closing.rate, fx_source=closing.source, fx_date=closing.as_of)

    out = [at_closing(ln) if i in others else (converted[i] or ln)
           for i, ln in enumerate(entry.lines)]
    net = sum(((ln.functional.amount if ln.side is Side.DEBIT else -ln.functional.amount)
               for i, ln in enumerate(out) if i != first and ln.functional is not None),
              Decimal(0))
    ln = out[first]
    value = -net if ln.side is Side.DEBIT else net
    out[first] = replace(ln, functional=Money(value, functional),
                         fx_rate=(value / ln.amount.amount).quantize(Decimal("1e-10")),
                         fx_source=f"balancing line ({closing.source})", fx_date=closing.as_of)
    return replace(entry, lines=tuple(out))


def recognize(engine: Engine, period: str, charts: Charts | ChartOfAccounts, now: datetime, *,
              post_journals: bool = True, policy: RevenuePolicy = DEFAULT_POLICY,
              only: str | None = None, entity: str | None = None,
              rules: PostingRules = DEFAULT_RULES,
              closed_period_policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE,
              functional: Mapping[str, str] | None = None, dry_run: bool = False,
              ) -> RecognitionResult:
    """Recognize ``period`` (see module doc); true-up entries by ``rules``'s
    ``revenue.true_up`` in each entity's own chart. ``dry_run``: everything is computed,
    written and posted in one transaction that is then rolled back, so the result says
    exactly what a real run would do and nothing changes."""
    result = RecognitionResult(period=period, dry_run=dry_run)
    with suppress(_DryRun):
        _recognize(engine, period, charts, now, result, post_journals=post_journals,
                   policy=policy, only=only, entity=entity, rules=rules,
                   closed_period_policy=closed_period_policy, functional=functional)
    return result


def _recognize(engine: Engine, period: str, charts: Charts | ChartOfAccounts, now: datetime,
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
                rc = build_contract(conn, number)
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
        if result.dry_run:
            raise _DryRun


def _refusal(conn: Connection, number: str, period: str, err: RevenueError,
             now: datetime) -> None:
    from syncline.adapters.db.tables import exceptions

    code = "revenue.refused"
    exists = conn.execute(select(exceptions.c.id).where(
        (exceptions.c.code == code) & (exceptions.c.status == "open")
        & exceptions.c.objects.like(f'%"{number}"%'))).first()
    if exists:
        return
    raise_exception(conn, Problem(
        code, BusinessDomain.FINANCE,
        f"the revenue engine refused contract {number} ({period}): {err}",
        "A revenue accountant reviews the contract's terms (the location names the fact) "
        "and corrects them in CPQ or with an amendment; the next run recomputes.",
        err.location, Severity.HIGH, (("contract", number),)), now=now)
