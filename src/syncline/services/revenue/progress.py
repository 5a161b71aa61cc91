"""Input measures of progress from stored facts: approved hours, their cost, and the estimate
at completion in force (the line's own estimate from its start, then each revision).

**Whose time.** A contract's time is the approved time of every project that names the
contract (``projects.contract_id``), read in work date then time entry order. (Before, one
project was picked by an unordered query when a contract had several.)

**Which line.** Time entries name a project and a WBS task, not a contract line, and no
task carries a line reference (``wbs_tasks``: code, name, billable, from Syncline's project
templates; the PSAs' time entries carry a project and a task only). So an entry counts for
the lines measured by input (``hours`` or ``cost_to_cost``) whose service period covers its
work date — a line an amendment adds from its effective date:

- one such line: the entry counts for it in full;
- several: the entry's hours are **shared** among them pro rata to each line's own
  estimate at completion: the deal's, or the adding amendment's, ``estimated_hours`` or
  ``estimated_cost``. A later ``estimate.revised`` changes the line's progress against it,
  not the shares. So time already measured is not re-split by a revision recorded after
  it, which a view as known at an earlier instant could not see. Until a revision, the
  lines progress at one rate:
  their hours together over their estimates together. Each shared actual carries ``ref``
  ``time shared i/n``. Sharing needs one basis: lines by hours and by cost together, or a
  sharing line with no own estimate, are refused (``RevenueError``), not guessed.
  What is shared is the entry's hours (lines by hours) or its cost (lines by cost), and
  the shares are taken of the running total those lines share, not entry by entry, so
  rounding never accumulates. Each line's share of the total is rounded half-up to what
  the engine keeps: 0.0001 h (``measures.SCALE``), or the contract currency's minor unit
  for a cost. The line with the largest estimate (the last in line id order on a tie)
  takes what is left. An entry's part for a line is the line's share after it less its
  share before. The parts add up to the entry exactly, and none is negative;
- none: the entry measures nothing.

A cost is the hours (or the share) at the HR cost rate effective on the work date; a cost
in another currency than the contract's is refused, not mixed. docs/revenue.md, "Time and
the lines it measures".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import inbox, projects, time_entries, worker_versions
from syncline.ledger.money import quantum
from syncline.revenue.measures import SCALE
from syncline.revenue.model import Actual, ActualKind, Estimate, Obligation, RevenueError

HOUR_PLACES = Decimal(1) / SCALE  # the engine keeps hours in 1/10,000


def instant(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Measured:
    """A line measured by input: by cost or by hours, and its own estimate at completion
    (the weight its share of shared time is taken by)."""

    obligation: Obligation
    by_cost: bool
    estimate: Decimal | None


def split(total: Decimal, day: date, lines: Sequence[Measured],
          places: Decimal = HOUR_PLACES) -> list[Decimal]:
    """``total`` (hours, or a cost) shared by ``lines`` pro rata to their own estimates,
    each rounded to ``places`` but the largest estimate's, which takes the rest."""
    if len(lines) == 1:
        return [total]
    ids = ", ".join(m.obligation.id for m in lines)
    if len({m.by_cost for m in lines}) > 1:
        raise RevenueError(f"actuals.time[{day}]", f"time on {day} measures lines {ids}, "
                           "some by hours and some by cost: it cannot be shared on one basis")
    weights = [m.estimate or Decimal(0) for m in lines]
    if any(w <= 0 for w in weights):
        raise RevenueError(f"actuals.time[{day}]", f"time on {day} is shared by lines {ids} "
                           "pro rata to their own estimates, and one has none")
    whole = sum(weights, Decimal(0))
    rest = max(range(len(lines)), key=lambda n: (weights[n], n))
    out = [(total * w / whole).quantize(places, ROUND_HALF_UP) for w in weights]
    out[rest] = total - sum((v for n, v in enumerate(out) if n != rest), Decimal(0))
    return out


def shares(before: Decimal, amount: Decimal, day: date, lines: Sequence[Measured],
           places: Decimal = HOUR_PLACES) -> list[Decimal]:
    """An entry's ``amount`` for each of ``lines``, after ``before`` they shared: each
    line's share of the running total after the entry less before it."""
    after = split(before + amount, day, lines, places)
    earlier = split(before, day, lines, places)
    return [a - e for a, e in zip(after, earlier, strict=True)]


class ProjectTime:
    """The approved time of a contract's projects, read once, measured per line."""

    def __init__(self, conn: Connection, contract_id: str, currency: str) -> None:
        self.conn = conn
        self.currency = currency
        self.rows = conn.execute(
            select(time_entries.c.worker_id, time_entries.c.work_date, time_entries.c.hours,
                   inbox.c.received_at)
            .join(inbox, inbox.c.id == time_entries.c.inbox_id)
            .join(projects, projects.c.code == time_entries.c.project_code)
            .where((projects.c.contract_id == contract_id)
                   & (time_entries.c.status == "approved"))
            .order_by(time_entries.c.work_date, time_entries.c.time_entry_id)).all()
        self._versions: dict[str, list[Any]] | None = None

    def versions(self) -> dict[str, list[Any]]:
        if self._versions is None:
            self._versions = {}
            for v in self.conn.execute(select(worker_versions).order_by(
                    worker_versions.c.effective_date, worker_versions.c.sequence)):
                self._versions.setdefault(v.worker_id, []).append(v)
        return self._versions

    def actuals(self, measured: Sequence[Measured]) -> list[Actual]:
        """Each entry's hours (or cost) for the lines it measures (the module's rule)."""
        ordered = sorted(measured, key=lambda m: m.obligation.id)
        shared: dict[tuple[str, ...], Decimal] = {}  # the running total of each set of lines
        out = []
        for t in self.rows:
            day, recorded = date.fromisoformat(t.work_date), instant(t.received_at)
            lines = [m for m in ordered if m.obligation.start <= day <= m.obligation.end]
            if not lines:
                continue
            by_cost = lines[0].by_cost  # one basis (``split`` refuses a mix)
            amount = t.hours * self.cost_rate(t.worker_id, t.work_date) if by_cost \
                and len({m.by_cost for m in lines}) == 1 else t.hours
            key = tuple(m.obligation.id for m in lines)
            before = shared.get(key, Decimal(0))
            parts = shares(before, amount, day, lines,
                           quantum(self.currency) if by_cost else HOUR_PLACES)
            shared[key] = before + amount
            kind = ActualKind.COST if by_cost else ActualKind.HOURS
            for n, (m, part) in enumerate(zip(lines, parts, strict=True), start=1):
                ref = f"time shared {n}/{len(lines)}" if len(lines) > 1 else ""
                out.append(Actual(m.obligation.id, kind, day, part, ref=ref,
                                  recorded_at=recorded))
        return out

    def cost_rate(self, worker: str, day: str) -> Decimal:
        effective = [v for v in self.versions().get(worker, ()) if v.effective_date <= day]
        if not effective:
            raise RevenueError(f"actuals.cost[{worker}]",
                               f"no HR cost rate for worker {worker} on {day}")
        rate = effective[-1]
        if rate.cost_currency != self.currency:
            raise RevenueError(f"actuals.cost[{worker}]",
                               f"cost in {rate.cost_currency} on a {self.currency} "
                               "contract needs an FX rate: cost-to-cost does not mix "
                               "currencies")
        return Decimal(rate.cost_rate)


def line_estimates(ob: Obligation, own: Decimal | None, revisions: list[Any]) -> list[Estimate]:
    """The line's estimate at completion from its start (the deal's or amendment's figure),
    then each ``estimate.revised`` from its effective date."""
    out = [Estimate(ob.id, ob.start, own)] if own else []
    out += [Estimate(ob.id, date.fromisoformat(r.effective_date), r.total,
                     uninstalled_materials=r.uninstalled_materials or Decimal(0),
                     recorded_at=instant(r.recorded_at)) for r in revisions]
    return out
