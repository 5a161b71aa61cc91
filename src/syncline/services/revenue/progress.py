"""Input measures of progress from stored facts: approved hours, their cost, and the estimate
at completion in force (the line's own estimate from its start, then each revision).

Time entries name a project, not a contract line: the approved hours (or their cost at the
HR cost rate effective on the work date) of the contract's project count for every line
measured by hours (or by cost) whose service period covers the work date — an added line
from its amendment's effective date. A cost in another currency is refused, not mixed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import inbox, projects, time_entries, worker_versions
from syncline.revenue.model import Actual, ActualKind, Estimate, Obligation, RevenueError


def instant(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ProjectTime:
    """The approved time of one contract's project, read once, measured per line."""

    def __init__(self, conn: Connection, contract_id: str, currency: str) -> None:
        self.conn = conn
        self.currency = currency
        project = conn.execute(select(projects.c.code).where(
            projects.c.contract_id == contract_id)).scalar()
        self.rows = conn.execute(
            select(time_entries.c.worker_id, time_entries.c.work_date, time_entries.c.hours,
                   inbox.c.received_at)
            .join(inbox, inbox.c.id == time_entries.c.inbox_id)
            .where((time_entries.c.project_code == project)
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

    def actuals(self, ob: Obligation, by_cost: bool) -> list[Actual]:
        out = []
        first, last = ob.start.isoformat(), ob.end.isoformat()
        for t in self.rows:
            if not first <= t.work_date <= last:
                continue
            day, recorded = date.fromisoformat(t.work_date), instant(t.received_at)
            if not by_cost:
                out.append(Actual(ob.id, ActualKind.HOURS, day, t.hours, recorded_at=recorded))
                continue
            effective = [v for v in self.versions().get(t.worker_id, ())
                         if v.effective_date <= t.work_date]
            if not effective:
                raise RevenueError(f"actuals.cost[{t.worker_id}]",
                                   f"no HR cost rate for worker {t.worker_id} on {t.work_date}")
            rate = effective[-1]
            if rate.cost_currency != self.currency:
                raise RevenueError(f"actuals.cost[{t.worker_id}]",
                                   f"cost in {rate.cost_currency} on a {self.currency} "
                                   "contract needs an FX rate: cost-to-cost does not mix "
                                   "currencies")
            out.append(Actual(ob.id, ActualKind.COST, day, t.hours * rate.cost_rate,
                              recorded_at=recorded))
        return out


def line_estimates(ob: Obligation, own: Decimal | None, revisions: list[Any]) -> list[Estimate]:
    """The line's estimate at completion from its start (the deal's or amendment's figure),
    then each ``estimate.revised`` from its effective date."""
    out = [Estimate(ob.id, ob.start, own)] if own else []
    out += [Estimate(ob.id, date.fromisoformat(r.effective_date), r.total,
                     uninstalled_materials=r.uninstalled_materials or Decimal(0),
                     recorded_at=instant(r.recorded_at)) for r in revisions]
    return out
