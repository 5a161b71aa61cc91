"""Data faults: bad records added on top of a clean stream, each expected to cause exactly one
exception (or one rejection) while everything else processes normally.

Nothing a good event depends on is touched: the extra deals have no time or milestones, the
bad time entries are new entries, and their workers and projects (but the unknown one) exist.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from syncline.domain.reference import ReferenceData
from syncline.simulator.catalog import (
    deal_closed,
    deal_data,
    expense_approved,
    milestone_completed,
    time_data,
)
from syncline.simulator.envelope import (
    PSA,
    Stamped,
    at_hour,
    envelope,
    weekday_on_or_after,
    window_end,
)
from syncline.simulator.expenses import Expense, expense_data
from syncline.simulator.firm import Deal, Firm, Worker, extra_deal
from syncline.simulator.model import InjectedFault, SimulationConfig
from syncline.simulator.pricing import ProjectClose
from syncline.simulator.timesheets import Acceptance, TimeEntry, Timesheets, friday_or_monday

_BAD_CURRENCIES = ("ZZZ", "USX", "EUD", "GBX")


@dataclass(frozen=True)
class Injected:
    stamped: Stamped
    fault: InjectedFault


@dataclass
class _Faults:
    """What the fault makers share: the run, the clean plan and counters for new ids."""

    run: str
    config: SimulationConfig
    rng: random.Random
    ref: ReferenceData
    firm: Firm
    sheets: Timesheets
    next_deal: int
    closes: tuple[ProjectClose, ...] = ()
    next_entry: int = 900001
    variant_start: int = 0  # where the cycle through a kind's variants begins

    def new_entry_id(self) -> str:
        self.next_entry += 1
        return f"TE-{self.next_entry - 1}"

    def new_deal(self) -> Deal:
        end = window_end(self.config)
        span = max(1, (end - self.config.start).days - 7)
        day = self.config.start + timedelta(days=self.rng.randint(0, span))
        deal = extra_deal(self.rng, self.ref, self.firm, self.rng.choice(self.firm.customers),
                          day, self.next_deal)
        self.next_deal += 1
        return deal

    def some_entry(self) -> TimeEntry:
        """A fresh entry in the context (worker, project, day) of a clean one."""
        base = self.rng.choice(self.sheets.entries)
        hours = Decimal(self.rng.randint(8, 36)) / 4
        return replace(base, entry_id=self.new_entry_id(), hours=hours)


def fault_count(config: SimulationConfig, rng: random.Random) -> int:
    """About 2-3 of each kind at the default size, growing with the square root of size."""
    base = round(math.sqrt(config.customers + config.workers / 2) / 2)
    return max(2, base - rng.randint(0, 1))


def inject_data_faults(run: str, config: SimulationConfig, rng: random.Random, ref: ReferenceData,
                       firm: Firm, sheets: Timesheets,
                       closes: tuple[ProjectClose, ...] = ()) -> list[Injected]:
    ctx = _Faults(run, config, rng, ref, firm, sheets, next_deal=1001 + len(firm.deals),
                  closes=closes)
    makers: list[Callable[[_Faults, int], Injected | None]] = [
        _missing_legal_entity, _missing_tax_profile, _unknown_currency, _unapproved_time,
        _unknown_project, _terminated_worker_time, _malformed_payload, _malformed_json,
        _expense_without_fx_rate, _time_on_closed_project,
    ]
    out: list[Injected] = []
    for make in makers:
        ctx.variant_start = rng.randrange(12)
        for k in range(fault_count(config, rng)):
            made = make(ctx, k)
            if made is not None:
                out.append(made)
    return out


def _bad_deal(ctx: _Faults, kind: str, mutate: Callable[[dict[str, Any]], str]) -> Injected | None:
    if not ctx.firm.customers:
        return None
    deal = ctx.new_deal()
    data = deal_data(deal)
    note = mutate(data)
    stamped = deal_closed(ctx.run, deal, data)
    return Injected(stamped, _fault(kind, stamped, "finance", "exception",
                                    f"deal {deal.deal_id}: {note}"))


def _missing_legal_entity(ctx: _Faults, k: int) -> Injected | None:
    def mutate(data: dict[str, Any]) -> str:
        if k % 2:
            del data["legal_entity"]
            return "legal_entity absent"
        data["legal_entity"] = None
        return "legal_entity null"
    return _bad_deal(ctx, "missing_legal_entity", mutate)


def _missing_tax_profile(ctx: _Faults, k: int) -> Injected | None:
    def mutate(data: dict[str, Any]) -> str:
        if k % 2:
            del data["tax_profile"]
            return "tax_profile absent"
        data["tax_profile"] = None
        return "tax_profile null"
    return _bad_deal(ctx, "missing_tax_profile", mutate)


def _unknown_currency(ctx: _Faults, k: int) -> Injected | None:
    def mutate(data: dict[str, Any]) -> str:
        bad = _BAD_CURRENCIES[k % len(_BAD_CURRENCIES)]
        data["currency"] = bad
        return f"currency {bad!r} is not an ISO 4217 code"
    return _bad_deal(ctx, "unknown_currency", mutate)


def _time_event(ctx: _Faults, entry: TimeEntry, data: dict[str, Any], at: datetime,
                correlation: str) -> Stamped:
    return envelope(ctx.run, source=PSA, etype="time.approved",
                    subject=f"time/{entry.entry_id}", sequence=1, at=at,
                    correlation=correlation, data=data)


def _unapproved_time(ctx: _Faults, k: int) -> Injected | None:
    if not ctx.sheets.entries:
        return None
    entry = ctx.some_entry()
    status = "submitted"
    stamped = _time_event(ctx, entry, time_data(entry, status), entry.approved_at,
                          entry.deal.deal_id)
    return Injected(stamped, _fault(
        "unapproved_time", stamped, "pmo", "exception",
        f"time entry {entry.entry_id} ({entry.worker.worker_id} on {entry.deal.project_code}, "
        f"{entry.work_date}) sent with approval_status {status!r}"))


def _unknown_project(ctx: _Faults, k: int) -> Injected | None:
    if not ctx.sheets.entries:
        return None
    entry = ctx.some_entry()
    code = f"P-{9901 + k}"
    data = time_data(entry)
    data["project_code"] = code
    stamped = _time_event(ctx, entry, data, entry.approved_at, code)
    return Injected(stamped, _fault(
        "unknown_project", stamped, "pmo", "parked_then_exception",
        f"time entry {entry.entry_id} booked to project {code}, which never arrives"))


def _terminated_worker_time(ctx: _Faults, k: int) -> Injected | None:
    if not ctx.firm.terminations:
        return None
    leaver = ctx.firm.terminations[k % len(ctx.firm.terminations)]
    worker = next(w for w in ctx.firm.workers if w.worker_id == leaver.worker_id)
    rounds = k // len(ctx.firm.terminations)
    after = 1 + 3 * rounds + ctx.rng.randint(0, 2)
    day = weekday_on_or_after(leaver.last_day + timedelta(days=after))
    deal = _deal_for(ctx, worker, day)
    if deal is None:
        return None
    friday = day + timedelta(days=4 - day.weekday())
    entry = TimeEntry(ctx.new_entry_id(), worker, deal, "1", True, day,
                      Decimal(ctx.rng.randint(24, 32)) / 4, friday_or_monday(ctx.rng, friday))
    stamped = _time_event(ctx, entry, time_data(entry), entry.approved_at, deal.deal_id)
    return Injected(stamped, _fault(
        "terminated_worker_time", stamped, "hr", "exception",
        f"time entry {entry.entry_id} by {worker.worker_id} on {day}, after their last day "
        f"{leaver.last_day}"))


def _deal_for(ctx: _Faults, worker: Worker, day: date) -> Deal | None:
    """The project the leaver was last on if it is still open on `day`, else an open one."""
    theirs = [e.deal for e in ctx.sheets.entries if e.worker.worker_id == worker.worker_id]
    open_ = [d for d in ctx.firm.deals if d.open_on(day)]
    same_entity = [d for d in open_ if d.customer.entity == worker.entity]
    for deal in (*reversed(theirs), *same_entity, *open_):
        if deal.open_on(day):
            return deal
    return theirs[-1] if theirs else None


def _malformed_payload(ctx: _Faults, k: int) -> Injected | None:
    if not ctx.sheets.entries:
        return None
    entry = ctx.some_entry()
    variant = (ctx.variant_start + k) % 4
    if variant == 0:
        data = time_data(entry)
        data["hours"] = "seven"
        stamped = _time_event(ctx, entry, data, entry.approved_at, entry.deal.deal_id)
        note = f"time.approved {entry.entry_id} with hours 'seven'"
    elif variant == 1:
        data = time_data(entry)
        del data["worker_id"]
        stamped = _time_event(ctx, entry, data, entry.approved_at, entry.deal.deal_id)
        note = f"time.approved {entry.entry_id} without the required worker_id"
    elif variant == 2 and ctx.firm.customers:
        deal = ctx.new_deal()
        data = deal_data(deal)
        del data["contract"]
        stamped = deal_closed(ctx.run, deal, data)
        note = f"deal.closed_won {deal.deal_id} without the required contract"
    else:
        milestone_id = f"MS-{9901 + k}"
        stamped = milestone_completed(ctx.run, Acceptance(
            entry.deal, milestone_id, entry.work_date, entry.approved_at))
        assert isinstance(stamped.item, dict)
        del stamped.item["data"]["evidence"]["accepted_by"]
        note = f"milestone.completed {milestone_id} with evidence but no accepted_by"
    return Injected(stamped, _fault("malformed_payload", stamped, "it", "rejected", note))


def _malformed_json(ctx: _Faults, k: int) -> Injected | None:
    end = window_end(ctx.config)
    day = weekday_on_or_after(
        ctx.config.start + timedelta(days=ctx.rng.randint(0, (end - ctx.config.start).days - 1)))
    at = at_hour(day, ctx.rng, 8, 20)
    variant = (ctx.variant_start + k) % 3
    if variant == 0 and ctx.sheets.entries:
        entry = ctx.some_entry()
        stamped = _time_event(ctx, entry, time_data(entry), at, entry.deal.deal_id)
        text = json.dumps(stamped.item, separators=(",", ":"))
        line = text[: len(text) * 3 // 5]
        note = f"time.approved {entry.entry_id} cut off after {len(line)} characters"
    elif variant == 1:
        line = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad "
                "Gateway</h1></center><hr><center>nginx</center></body></html>")
        note = "an HTML 502 Bad Gateway page from a proxy instead of an event"
    else:
        line = "time_entry_id,worker_id,project_code,hours\tTE-0,WD-0,P-0,7.5"
        note = "a CSV export fragment instead of an event"
    stamped = Stamped(at, (PSA, f"~raw/{k}", 0), line)
    return Injected(stamped, InjectedFault("malformed_json", None, None, "it", "rejected", note))


def _expense_without_fx_rate(ctx: _Faults, k: int) -> Injected | None:
    """A receipt in a currency no FX rate is published for: it waits for the rate, and past
    the park age is a finance exception (treasury publishes rates)."""
    if not ctx.sheets.entries:
        return None
    entry = ctx.some_entry()
    currency = ("CHF", "JPY", "SEK", "NOK")[(ctx.variant_start + k) % 4]
    expense = Expense(f"EXP-{900001 + k}", entry, entry.work_date, "lodging",
                      f"Hotel (receipt in {currency})", Decimal(ctx.rng.randint(180, 420)), True,
                      entry.approved_at + timedelta(minutes=ctx.rng.randint(1, 90)))
    stamped = expense_approved(ctx.run, expense, expense_data(expense, currency))
    return Injected(stamped, _fault(
        "expense_without_fx_rate", stamped, "finance", "parked_then_exception",
        f"expense {expense.expense_id} in {currency} for {entry.deal.project_code}: no "
        f"{currency}/{entry.deal.currency} rate is published"))


def _time_on_closed_project(ctx: _Faults, k: int) -> Injected | None:
    """Time booked after the project was closed in the PSA (the contract ended): a billing
    exception. By a worker of the engagement still employed that day."""
    last_day = {t.worker_id: t.last_day for t in ctx.firm.terminations}
    candidates = []
    for close in ctx.closes:
        day = weekday_on_or_after(close.closed_on + timedelta(days=1 + ctx.rng.randint(0, 4)))
        team = sorted({e.worker.worker_id: e.worker for e in ctx.sheets.entries
                       if e.deal is close.deal and day <= last_day.get(e.worker.worker_id, day)
                       }.items())
        if team:
            candidates.append((close, day, team))
    if not candidates:
        return None
    close, day, team = candidates[(ctx.variant_start + k) % len(candidates)]
    worker = team[ctx.rng.randrange(len(team))][1]
    friday = day + timedelta(days=4 - day.weekday())
    entry = TimeEntry(ctx.new_entry_id(), worker, close.deal, "1", True, day,
                      Decimal(ctx.rng.randint(16, 32)) / 4, friday_or_monday(ctx.rng, friday))
    stamped = _time_event(ctx, entry, time_data(entry), entry.approved_at, close.deal.deal_id)
    return Injected(stamped, _fault(
        "time_on_closed_project", stamped, "billing", "exception",
        f"time entry {entry.entry_id} by {worker.worker_id} on {day}, after project "
        f"{close.deal.project_code} was closed ({close.closed_on})"))


def _fault(kind: str, stamped: Stamped, domain: str, outcome: str, note: str) -> InjectedFault:
    event = stamped.item
    assert isinstance(event, dict)
    return InjectedFault(kind, str(event["id"]), str(event["subject"]), domain, outcome, note)
