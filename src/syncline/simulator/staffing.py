"""Staffing of the simulated firm (``SimulationConfig.staffing``, off by default): for each
worker on each engagement, the PSA's resource request and the confirmed assignment, derived
from the time they book (no random draw: the clean events stay the same).

The assignment runs from the pair's first to its last work date (never past a last day), at
the average booked hours per week rounded down to the hour, lowered to what the worker still
has free so that no assignment goes beyond capacity (domain/staffing.overload).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from syncline.domain.staffing import Booking, Span, Worker, capacity_on, load_on, overload
from syncline.simulator.envelope import PSA, Stamped, envelope
from syncline.simulator.firm import Firm
from syncline.simulator.timesheets import TimeEntry, Timesheets


def plan_staffing(run: str, firm: Firm, sheets: Timesheets) -> list[Stamped]:
    last_day = {t.worker_id: t.last_day for t in firm.terminations}
    pairs: dict[tuple[str, str], list[TimeEntry]] = defaultdict(list)
    for e in sheets.entries:
        pairs[(e.worker.worker_id, e.deal.project_code)].append(e)
    booked: dict[str, Worker] = {}
    out: list[Stamped] = []
    for (wid, project), entries in sorted(pairs.items(),
                                          key=lambda kv: (min(e.work_date for e in kv[1]),
                                                          kv[0])):
        first, last = min(e.work_date for e in entries), max(e.work_date for e in entries)
        if wid in last_day:
            last = min(last, last_day[wid])
        window = Span(first, last)
        weeks = max(1, ((last - first).days + 7) // 7)
        hours = (sum((e.hours for e in entries), Decimal(0)) / weeks).quantize(
            Decimal(1), ROUND_FLOOR)
        sim = entries[0].worker
        worker = booked.get(wid) or Worker(wid, sim.name, sim.role, sim.cost_rate,
                                           last_day=last_day.get(wid))
        free = min((capacity_on(worker, d) - load_on(worker.bookings, d)
                    for d in window.weekdays()), default=Decimal(0)) * 5
        hours = min(hours, free.quantize(Decimal(1), ROUND_FLOOR))
        if hours <= 0 or overload(worker, Booking(hours, window)):
            continue
        booked[wid] = replace(worker, bookings=(*worker.bookings, Booking(hours, window)))
        deal = entries[0].deal
        at = max(deal.closed_at, sim.onboarded_at) + timedelta(minutes=10)
        rid, aid = f"RR-{project}-{wid}", f"AS-{project}-{wid}"
        dates = {"start_date": first.isoformat(), "end_date": last.isoformat()}
        out.append(envelope(run, source=PSA, etype="resource.requested",
                            subject=f"resource_request/{rid}", sequence=1, at=at,
                            correlation=deal.project_code, data={
                                "request_id": rid, "project_code": project,
                                "role": sim.role, "hours_per_week": str(hours),
                                "billable": True, **dates}))
        out.append(envelope(run, source=PSA, etype="assignment.confirmed",
                            subject=f"assignment/{aid}", sequence=1,
                            at=at + timedelta(minutes=5), correlation=deal.project_code,
                            data={"assignment_id": aid, "request_id": rid, "worker_id": wid,
                                  "hours_per_week": str(hours), **dates}))
    return out


