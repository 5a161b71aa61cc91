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

import json
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from syncline.billing.fx import FxRateMissing, FxSnapshot, lookup_rate
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.ledger.accounts import ChartOfAccounts, Charts, UnknownAccountRole, as_charts
from syncline.ledger.journal import JournalEntry, Side
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
from syncline.revenue import ScheduleResult, compute_schedule
from syncline.revenue.model import RevenueError, RevenuePolicy
from syncline.revenue.units import amount
from syncline.services.billing.fx import load_fx_rates
from syncline.services.billing.run import month_bounds
from syncline.services.ledger.posting import post_entries, posting_failed
from syncline.services.ledger.queries import entities_with_entries
from syncline.services.messaging.exceptions import raise_exception, raise_once, resolve_if_open
from syncline.services.revenue.billable import billed_net, net_billed
from syncline.services.revenue.billable_carried import Read, keep_carries, locked_months
from syncline.services.revenue.facts import build_contract, contract_numbers
from syncline.services.revenue.functional import with_functional_amounts
from syncline.services.revenue.journal_reads import (
    RevenueJournal,
    carrying_balances,
    posted_amounts,
)
from syncline.services.revenue.reads import CHUNK, ContractFacts, load_facts
from syncline.services.revenue.recognition_carried import (
    Carry,
    Carrying,
    billed_lines_after,
    carry_to,
    keep,
    read_carries,
)
from syncline.services.revenue.stored import (
    contract_positions,
    replace_schedules,
    schedule_rows,
    stored_rows,
    stored_schedule,
)

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


@dataclass
class _Run:
    """One recognition's settings and what it read once for every contract."""

    period: str
    end: date
    now: datetime
    result: RecognitionResult
    charts: Charts
    policy: RevenuePolicy
    rules: PostingRules
    closed_period_policy: ClosedPeriodPolicy
    functional_of: dict[str, str]
    post_journals: bool
    fx_rates: Any = None
    journal: RevenueJournal = field(default_factory=RevenueJournal)
    fx_missing_open: set[str] = field(default_factory=set)  # contracts with one open
    locked: dict[str, set[str]] = field(default_factory=dict)  # locked months by entity
    stored: dict[str, Carry] = field(default_factory=dict)  # recognition carries (ADR 0022)
    carried: dict[str, Carry] = field(default_factory=dict)  # those before the period
    entities: list[str] = field(default_factory=list)  # the entities with entries


@dataclass
class _TrueUp:
    """A true-up made for one contract, posted with its chunk's (after, for a foreign
    currency, its functional amounts)."""

    number: str
    entry: JournalEntry
    chart: ChartOfAccounts | None = None
    closing: FxSnapshot | None = None
    currency: str = ""
    functional: str = ""


def _recognize(engine: Engine, period: str, charts: Charts | ChartOfAccounts, now: datetime,
               result: RecognitionResult, *, post_journals: bool, policy: RevenuePolicy,
               only: str | None, entity: str | None, rules: PostingRules,
               closed_period_policy: ClosedPeriodPolicy,
               functional: Mapping[str, str] | None) -> None:
    """Contracts a chunk at a time: their facts, stored schedules and journal read in a few
    statements (`reads`, `journal_reads`), each schedule computed and its true-up made as
    before, then the chunk's schedules stored and true-ups posted together."""
    _, end = month_bounds(period)
    run = _Run(period, end, now, result, as_charts(charts), policy, rules,
               closed_period_policy, dict(functional) if functional is not None else {
                   e.code: e.functional_currency for e in DEFAULT_REFERENCE.entities},
               post_journals)
    with engine.begin() as conn:
        run.fx_rates = load_fx_rates(conn)
        run.locked = locked_months(conn)
        numbers = [only] if only else contract_numbers(conn, until=end)
        if post_journals:
            run.stored = read_carries(conn, numbers)
            run.carried = {n: c for n, c in run.stored.items() if c.period < period}
            run.entities = entities_with_entries(conn)
            run.journal = RevenueJournal.read(conn, numbers, run.carried, run.entities)
            run.fx_missing_open = _open_fx_missing(conn, period)
        for start in range(0, len(numbers), CHUNK):
            _chunk(conn, run, numbers[start:start + CHUNK], entity)
        if result.dry_run:
            raise _DryRun


def _chunk(conn: Connection, run: _Run, numbers: list[str], entity: str | None) -> None:
    reads: list[Read] = []
    facts = load_facts(conn, numbers, before=run.period, reads=reads, carried=run.carried)
    for read in reads:  # the locked months read, carried for the next run (docs/adr/0016)
        keep_carries(conn, read, {n: f.held for n, f in facts.items()},
                     {n: f.head.entity_code for n, f in facts.items()}, run.locked, run.period)
    stored = stored_rows(conn, numbers)
    schedules: dict[str, list[dict[str, Any]]] = {}
    true_ups: list[_TrueUp] = []
    for number in numbers:
        f = facts.get(number)
        if f is None or (entity and f.head.entity_code != entity):
            continue
        try:
            rc = build_contract(conn, number, facts=f)
            if rc is None:
                continue
            schedule = compute_schedule(rc, run.policy, as_of=run.end)
        except RevenueError as err:
            run.result.refused.append(number)
            _refusal(conn, number, run.period, err, run.now)
            continue
        run.result.contracts += 1
        rows = schedule_rows(number, schedule, run.period, f.head.version,
                             stored.get(number, ()))
        if rows is not None:
            schedules[number] = rows
        made = _true_up(conn, run, f, schedule)
        if made is not None:
            true_ups.append(made)
    replace_schedules(conn, schedules)
    if not run.post_journals:
        return
    months = {n: m for n, f in facts.items() if (m := carry_to(
        run.locked.get(f.head.entity_code, ()), run.period, run.stored.get(n))) is not None}
    foreign = {t.number for t in true_ups if t.closing is not None and t.chart is not None}
    billed = billed_lines_after(conn, sorted({*months, *foreign}), run.carried, run.entities)
    keep(conn, [Carrying(n, m, facts[n].billed_before, facts[n].invoices,
                         facts[n].credit_notes, run.journal.lines.get(n, ()),
                         billed.get(n, ())) for n, m in sorted(months.items())])
    if true_ups:
        _post(conn, run, true_ups, billed)


def _true_up(conn: Connection, run: _Run, f: ContractFacts, schedule: ScheduleResult,
             ) -> _TrueUp | None:
    """The contract's line of the result, and the true-up entry it needs (None: none, or it
    could not be made — then a finance exception says why)."""
    result, period, end, head = run.result, run.period, run.end, f.head
    number, cur = head.number, schedule.currency
    idx = schedule.as_of_index
    cum_r = amount(sum(ob.cumulative[idx] for ob in schedule.obligations), cur) \
        if idx >= 0 else Decimal(0)
    period_r = amount(sum(ob.revenue[idx] for ob in schedule.obligations), cur) \
        if idx >= 0 and schedule.periods[idx].key == period else Decimal(0)
    result.revenue[cur] = result.revenue.get(cur, Decimal(0)) + period_r
    line = {"contract": number, "entity": head.entity_code, "currency": cur,
            "period_revenue": str(period_r), "cumulative": str(cum_r)}
    result.by_contract.append(line)
    if not run.post_journals:
        return None
    chart = run.charts.of(head.entity_code)
    rule = run.rules.rule(REVENUE_TRUE_UP, head.entity_code)
    params = {"contract": number, "service_line": head.service_line,
              "as_of": end.isoformat(), "period": period}
    accounts = _accounts(rule, chart, params)
    if isinstance(accounts, PostingError):
        result.posting_failed.append(number)
        posting_failed(conn, replace(accounts, source_id=f"revenue:{number}:{period}"),
                       run.now, retry="re-run the recognition for the period")
        return None
    billed = f.billed_before + net_billed(f.invoices, f.credit_notes, end)
    target = {"revenue": cum_r, "liability": min(billed, cum_r),
              "unbilled": max(Decimal(0), cum_r - billed)}
    done = posted_amounts(run.journal.lines.get(number, ()), rule, accounts, end)
    delta = {k: v - done.get(k, Decimal(0)) for k, v in target.items()}
    if all(v == 0 for v in delta.values()):
        return None
    base = f"revenue:{number}:{period}"
    taken = run.journal.taken(number, base)
    source_id = base if base not in taken else f"{base}:r{len(taken) + 1}"
    line.update({"true_up": source_id, **{f"true_up_{k}": str(v) for k, v in delta.items()}})
    made = post(rule, {k: Money(v, cur) for k, v in delta.items()}, chart=chart,
                entity_id=head.entity_code, posting_date=end, source_id=source_id,
                params=params)
    if isinstance(made, PostingError):
        result.posting_failed.append(number)
        posting_failed(conn, made, run.now, retry="re-run the recognition for the period")
        return None
    base_currency = run.functional_of.get(head.entity_code, cur)
    if cur == base_currency:
        return _TrueUp(number, made)
    closing = lookup_rate(run.fx_rates, base=cur, quote=base_currency, on=end)
    if isinstance(closing, FxRateMissing):
        result.refused.append(number)
        raise_once(conn, Problem(
            "revenue.fx_rate_missing", BusinessDomain.FINANCE,
            f"no {cur}->{base_currency} rate on or before {end} for the revenue "
            f"of contract {number} ({head.entity_code})",
            f"Publish the {cur}/{base_currency} closing rate (fx.rates_published) "
            "and run the recognition (or the close) for the period again.",
            "currency", severity=Severity.HIGH,
            objects=(("contract", number), ("period", period))), run.now)
        return None
    return _TrueUp(number, made, chart, closing, cur, base_currency)


def _post(conn: Connection, run: _Run, true_ups: list[_TrueUp],
          billed: Mapping[str, Sequence[Any]]) -> None:
    """Functional amounts of the foreign-currency true-ups (their carrying balances from
    their revenue entries and their documents' lines, ``billed``: carried sums and the lines
    after them), then every true-up of the chunk posted, in order, as one by one."""
    foreign = [t for t in true_ups if t.closing is not None and t.chart is not None]
    balances = {t.number: {t.chart.code("contract_liability"): "contract liability",
                           t.chart.code("unbilled_receivable"): "unbilled receivable"}
                for t in foreign if t.chart is not None}
    entries = []
    for t in true_ups:
        if t.closing is not None:
            own = balances[t.number]
            lines = [*(r for r in run.journal.lines.get(t.number, ())
                       if r.source_type == "revenue"), *billed.get(t.number, ())]
            t.entry = with_functional_amounts(
                t.entry, functional=t.functional, closing=t.closing,
                carrying=carrying_balances(lines, set(own), run.end),
                balance_accounts=own, number=t.number)
            if t.number in run.fx_missing_open:
                resolve_if_open(conn, "revenue.fx_rate_missing",
                                (("contract", t.number), ("period", run.period)), run.now,
                                f"the {t.currency}/{t.functional} rate "
                                f"of {t.closing.as_of} is published")
        entries.append(t.entry)
    outcomes = post_entries(conn, entries, run.now, run.closed_period_policy)
    run.result.journal_entries += sum(o.stored for o in outcomes)


def _open_fx_missing(conn: Connection, period: str) -> set[str]:
    """Contracts with an open ``revenue.fx_rate_missing`` exception for ``period``."""
    from syncline.adapters.db.tables import exceptions

    out = set()
    for r in conn.execute(select(exceptions.c.objects).where(
            (exceptions.c.code == "revenue.fx_rate_missing")
            & (exceptions.c.status == "open"))):
        objects = json.loads(r.objects)
        if len(objects) == 2 and objects[1] == ["period", period] and \
                objects[0][0] == "contract":
            out.add(objects[0][1])
    return out


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
