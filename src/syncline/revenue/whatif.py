"""What-if: one modification under all three treatments, side by side, and the as-known-at
comparison of two runs of the same contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from syncline.revenue.balances import remaining_obligations
from syncline.revenue.model import RevenueContract, RevenueError, RevenuePolicy, Treatment
from syncline.revenue.modifications import ModificationDecision
from syncline.revenue.schedule.compute import compute_schedule
from syncline.revenue.schedule.result import ScheduleResult


@dataclass(frozen=True, slots=True)
class Outcome:
    treatment: Treatment
    chosen: bool
    revenue_by_period: tuple[tuple[str, int], ...]
    revenue_to_date: int
    catch_up: int
    rpo: int
    result: ScheduleResult


@dataclass(frozen=True, slots=True)
class WhatIf:
    modification_id: str
    decision: ModificationDecision
    outcomes: tuple[Outcome, ...]
    not_applicable: tuple[tuple[Treatment, str], ...] = ()


def what_if(contract: RevenueContract, policy: RevenuePolicy, as_of: date,
            modification_id: str) -> WhatIf:
    if modification_id not in {m.id for m in contract.modifications}:
        raise RevenueError("--modification", f"no modification with id {modification_id!r}")
    base = compute_schedule(contract, policy, as_of)
    decision = next((d for d in base.decisions if d.modification_id == modification_id), None)
    if decision is None:
        raise RevenueError(f"modifications[{modification_id}]",
                           "is not effective by the as-of date")
    outcomes = []
    skipped = []
    for t in Treatment:
        try:
            r = compute_schedule(contract, policy, as_of, treatments={modification_id: t})
        except RevenueError as exc:  # e.g. a price-only change cannot be a separate contract
            skipped.append((t, exc.rule))
            continue
        k = r.as_of_index
        outcomes.append(Outcome(
            treatment=t, chosen=t is decision.treatment,
            revenue_by_period=tuple(zip((p.key for p in r.periods), r.revenue_by_period(),
                                        strict=True)),
            revenue_to_date=r.cumulative_at(k),
            catch_up=sum(c.amount for c in r.catch_ups if modification_id in c.cause),
            rpo=remaining_obligations(r).total, result=r,
        ))
    return WhatIf(modification_id, decision, tuple(outcomes), tuple(skipped))


@dataclass(frozen=True, slots=True)
class Difference:
    obligation_id: str
    period: str
    then: int
    now: int


@dataclass(frozen=True, slots=True)
class KnownAtComparison:
    known_at: datetime
    then: ScheduleResult
    now: ScheduleResult
    differences: tuple[Difference, ...]  # period revenue that differs


def compare_known_at(contract: RevenueContract, policy: RevenuePolicy, as_of: date,
                     known_at: datetime) -> KnownAtComparison:
    """The schedule as known at ``known_at`` against the schedule as known now."""
    then = compute_schedule(contract, policy, as_of, known_at)
    now = compute_schedule(contract, policy, as_of)
    diffs = []
    keys = [p.key for p in now.periods]
    for ln in now.obligations:
        try:
            old = then.line(ln.obligation_id)
            old_rev = dict(zip((p.key for p in then.periods), old.revenue, strict=True))
        except KeyError:
            old_rev = {}
        for key, v in zip(keys, ln.revenue, strict=True):
            if old_rev.get(key, 0) != v:
                diffs.append(Difference(ln.obligation_id, key, old_rev.get(key, 0), v))
    return KnownAtComparison(known_at, then, now, tuple(diffs))
