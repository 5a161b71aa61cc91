"""Intercompany charges at close: a worker of entity B on a project of entity A.

For a period, every approved time entry whose worker's entity (the HR version effective on
the work date) differs from the entity of the project's contract is charged by the
provider B to the recipient A at the transfer-pricing rate of the ledger configuration
(``intercompany:``; cost plus 10 % by default, see ``ledger.intercompany.TransferPricing``).

One charge per (provider, recipient, project, period), id
``ic:<provider>:<recipient>:<project>:<YYYY-MM>``: an entry in each entity (source id
``<charge id>:<entity>``, metadata ``intercompany_charge`` = the charge id, ``hours``), dated
the period end, with a line pair per (worker, hourly rate):

- provider B: Dr intercompany receivable / Cr intercompany revenue;
- recipient A: Dr intercompany cost / Cr intercompany payable.

The charge is in the provider's cost currency. An entity whose functional currency differs
carries functional amounts at the rate for the period end in ``fx_rates`` (latest ``as_of``
on or before it, or the inverse of a published rate); the rate, its source and date are on
every line. A missing rate is one finance exception per (entity, currency pair, period)
(``ledger.intercompany_fx_rate_missing``) — the charges that need it wait, the others post —
and it resolves itself when a later run posts them. Both entries are checked against the
periods first: if either entity's period refuses the posting, neither is stored (the refusal
is the usual ``ledger.period_*`` exception), so receivable and payable never drift apart.
Running it again posts nothing (the source id is taken).

Known limit (as for labor cost): time approved for a month after its charge was posted is
not trued up; the reconciliation check "cross-entity time = intercompany charges" shows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import (
    contracts,
    journal_entries,
    projects,
    time_entries,
    worker_versions,
)
from syncline.billing.fx import FxRateMissing, FxSnapshot, lookup_rate
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.ledger.accounts import Charts
from syncline.ledger.fx import FxRate
from syncline.ledger.intercompany import (
    IntercompanyCharge,
    IntercompanyError,
    TransferPricing,
    combined_entries,
    entry_source_id,
)
from syncline.ledger.journal import JournalEntry
from syncline.ledger.money import Money
from syncline.ledger.periods import (
    ClosedPeriodPolicy,
    PostingRefused,
    check_posting,
    period_end,
    period_start,
)
from syncline.services.billing.fx import load_fx_rates
from syncline.services.ledger.periods import periods_for_check
from syncline.services.ledger.posting import post
from syncline.services.messaging.exceptions import raise_once, resolve_if_open

SOURCE_TYPE = "intercompany_charge"
RATE_MISSING = "ledger.intercompany_fx_rate_missing"
TRANSFER_RATE_MISSING = "ledger.intercompany_transfer_rate_missing"
INVALID = "ledger.intercompany_invalid"


@dataclass(frozen=True, slots=True)
class CrossEntityTime:
    """Approved hours of one worker at one cost rate on a project of another entity."""

    provider: str  # the worker's entity on the work date
    recipient: str  # the project's contract entity
    project: str
    worker: str
    role: str
    cost_rate: Money  # per hour, in the cost currency
    hours: Decimal


def source_id(provider: str, recipient: str, project: str, period: str) -> str:
    return f"ic:{provider}:{recipient}:{project}:{period}"


def cross_entity_time(conn: Connection, start: date, end: date) -> list[CrossEntityTime]:
    """Approved time dated ``start``..``end`` booked by a worker of another entity than the
    project's, grouped by (provider, recipient, project, worker, role, cost rate)."""
    versions: dict[str, list[Any]] = defaultdict(list)
    for v in conn.execute(select(worker_versions).order_by(worker_versions.c.effective_date,
                                                           worker_versions.c.sequence)):
        versions[v.worker_id].append(v)
    owner = dict(conn.execute(select(projects.c.code, contracts.c.entity_code)
                              .join(contracts, projects.c.contract_id == contracts.c.id)).all())
    hours: dict[tuple[str, str, str, str, str, str, Decimal], Decimal] = defaultdict(Decimal)
    for t in conn.execute(select(time_entries.c.worker_id, time_entries.c.project_code,
                                 time_entries.c.work_date, time_entries.c.hours,
                                 time_entries.c.role).where(
            (time_entries.c.status == "approved")
            & (time_entries.c.work_date >= start.isoformat())
            & (time_entries.c.work_date <= end.isoformat()))):
        effective = [v for v in versions[t.worker_id] if v.effective_date <= t.work_date]
        recipient = owner.get(t.project_code)
        if not effective or recipient is None:
            continue
        v = effective[-1]
        if v.entity_code == recipient:
            continue
        hours[(v.entity_code, recipient, t.project_code, t.worker_id, t.role,
               v.cost_currency, v.cost_rate)] += t.hours
    return [CrossEntityTime(p, r, proj, w, role, Money(rate, cur), h)
            for (p, r, proj, w, role, cur, rate), h in sorted(hours.items()) if h > 0]


def posted_sources(conn: Connection, period: str) -> set[str]:
    """Source ids of the period's stored intercompany entries (``<charge>:<entity>``)."""
    return set(conn.execute(select(journal_entries.c.source_id).where(
        (journal_entries.c.source_type == SOURCE_TYPE)
        & journal_entries.c.source_id.like(f"ic:%:{period}:%"))).scalars())


def rate_problem(code: str, entity: str, base: str, quote: str, period: str, on: date,
                 what: str) -> Problem:
    return Problem(
        code, BusinessDomain.FINANCE,
        f"no FX rate {base}->{quote} published on or before {on.isoformat()}: {what} of "
        f"{entity} for {period} cannot be stated in {quote}",
        f"Load the {base}/{quote} closing rate for {on.isoformat()} into fx_rates (treasury "
        f"rate feed), then run the close of {period} again (reopen the period first if it is "
        "closed); the rest of the close is not held up.",
        field="fx_rates", severity=Severity.HIGH,
        objects=(("fx_rate", f"{base}/{quote}"), ("period", f"{entity}:{period}")))


def as_fx_rate(snap: FxSnapshot) -> FxRate:
    return FxRate(snap.base, snap.quote, snap.rate, snap.source, snap.as_of)


def _post_pair(conn: Connection, pair: tuple[JournalEntry, JournalEntry], now: datetime,
               policy: ClosedPeriodPolicy) -> str:
    """``posted`` / ``duplicate`` / ``refused``: both entries or neither."""
    refused = [e for e in pair if isinstance(check_posting(
        e, periods_for_check(conn, e.entity_id, e.posting_date), policy), PostingRefused)]
    if refused:
        for e in refused:
            post(conn, e, now, policy)  # stores nothing; opens the period's finance exception
        return "refused"
    outcomes = [post(conn, e, now, policy) for e in pair]
    return "posted" if all(o.stored for o in outcomes) else "duplicate"


def charge_period(
    conn: Connection,
    period: str,
    *,
    charts: Charts,
    functional_currencies: Mapping[str, str],
    pricing: TransferPricing,
    now: datetime,
    entity: str | None = None,
    closed_period_policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE,
) -> dict[str, Any]:
    """Post the period's intercompany charges (every entity pair, or those ``entity`` is a
    party to); a JSON-ready summary of what happened."""
    start, end = period_start(period), period_end(period)
    groups: dict[tuple[str, str, str], list[CrossEntityTime]] = defaultdict(list)
    for t in cross_entity_time(conn, start, end):
        if entity and entity not in (t.provider, t.recipient):
            continue
        groups[(t.provider, t.recipient, t.project)].append(t)
    done = posted_sources(conn, period)
    snaps = load_fx_rates(conn)
    out: dict[str, Any] = {"pricing": pricing.describe(), "charges": 0, "entries": 0,
                           "already_posted": 0, "waiting_for_fx_rate": 0, "refused": 0,
                           "not_charged": 0, "exceptions": []}
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    rates_found: set[tuple[str, str, str]] = set()

    def exception(problem: Problem) -> None:
        exc_id = raise_once(conn, problem, now)
        if exc_id not in out["exceptions"]:
            out["exceptions"].append(exc_id)

    for (provider, recipient, project), times in sorted(groups.items()):
        sid = source_id(provider, recipient, project, period)
        if entry_source_id(sid, provider) in done or entry_source_id(sid, recipient) in done:
            out["already_posted"] += 1
            continue
        charges: list[IntercompanyCharge] = []
        by_rate: dict[tuple[str, Money], Decimal] = defaultdict(Decimal)
        missing_rate = None
        for t in times:
            rate = pricing.rate_for(provider=provider, recipient=recipient, role=t.role,
                                    cost_rate=t.cost_rate)
            if isinstance(rate, IntercompanyError):
                missing_rate = rate
                break
            by_rate[(t.worker, rate)] += t.hours
        if missing_rate is not None:
            exception(Problem(
                TRANSFER_RATE_MISSING, BusinessDomain.FINANCE,
                f"{missing_rate.message}: the intercompany charge {sid} cannot be priced",
                "Add the role's hourly transfer rate to the intercompany rates of the ledger "
                "configuration (or use method cost_plus), then run the close again.",
                field="intercompany.rates", severity=Severity.HIGH,
                objects=(("journal", f"{SOURCE_TYPE}:{sid}"),)))
            out["not_charged"] += 1
            continue
        for (worker, rate), hours in sorted(by_rate.items(), key=lambda kv: kv[0][0]):
            charges.append(IntercompanyCharge(f"{sid}#{worker}", provider, recipient, project,
                                              worker, hours, rate, end))
        currencies = {c.transfer_rate.currency for c in charges}
        fx: dict[str, dict[str, FxRate]] = {}
        waiting = False
        for ent in (provider, recipient):
            functional = functional_currencies.get(ent)
            for cur in sorted(currencies):
                if functional is None or cur == functional:
                    continue
                found = lookup_rate(snaps, base=cur, quote=functional, on=end)
                if isinstance(found, FxRateMissing):
                    exception(rate_problem(RATE_MISSING, ent, cur, functional, period, end,
                                           "intercompany charges"))
                    waiting = True
                else:
                    fx.setdefault(ent, {})[cur] = as_fx_rate(found)
                    rates_found.add((ent, f"{cur}/{functional}", period))
        if waiting:
            out["waiting_for_fx_rate"] += 1
            continue
        hours_total = sum((c.hours for c in charges), Decimal(0))
        made = combined_entries(charges, charts.all((provider, recipient)), source_id=sid,
                                functional_currencies=functional_currencies, rates=fx,
                                metadata=(("hours", format(hours_total, "f")),
                                          ("period", period), ("project", project)))
        if isinstance(made, IntercompanyError):
            exception(Problem(
                INVALID, BusinessDomain.FINANCE, f"intercompany charge {sid}: {made.message}",
                "Fix the chart of accounts (intercompany roles) or the worker's HR data, then "
                "run the close again.", severity=Severity.HIGH,
                objects=(("journal", f"{SOURCE_TYPE}:{sid}"),)))
            out["not_charged"] += 1
            continue
        status = _post_pair(conn, made, now, closed_period_policy)
        if status == "posted":
            out["charges"] += 1
            out["entries"] += 2
            for ln in made[0].lines[::2]:
                amounts[f"{provider}->{recipient} {ln.amount.currency}"] += ln.amount.amount
        elif status == "duplicate":
            out["already_posted"] += 1
        else:
            out["refused"] += 1
    for ent, pair, per in sorted(rates_found):
        resolve_if_open(conn, RATE_MISSING, [["fx_rate", pair], ["period", f"{ent}:{per}"]],
                        now, "the rate is now loaded: the charges waiting for it were made")
    out["amounts"] = {k: format(v, "f") for k, v in sorted(amounts.items())}
    return out
