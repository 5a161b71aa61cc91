"""`simulate`: plan the firm, render its events in time order, then add the requested faults.

The clean content is drawn from `random.Random(seed)` alone; data faults and delivery faults
each draw from their own generator derived from the seed, so switching them on never changes
the clean events.
"""

from __future__ import annotations

import random
from datetime import datetime

from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.simulator import catalog
from syncline.simulator.delivery import deliver
from syncline.simulator.envelope import Stamped, run_key
from syncline.simulator.expenses import plan_expenses
from syncline.simulator.faults import inject_data_faults
from syncline.simulator.firm import Firm, plan_firm
from syncline.simulator.model import InjectedFault, Simulation, SimulationConfig
from syncline.simulator.pricing import plan_closes, plan_fx, plan_rate_cards
from syncline.simulator.staffing import plan_staffing
from syncline.simulator.timesheets import Acceptance, Timesheets, plan_acceptances, plan_time


def simulate(config: SimulationConfig, ref: ReferenceData = DEFAULT_REFERENCE) -> Simulation:
    rng = random.Random(config.seed)
    run = run_key(config)
    firm = plan_firm(config, rng, ref)
    sheets = plan_time(config, rng, firm, ref)
    acceptances = plan_acceptances(config, rng, firm)
    spent, returned = plan_expenses(random.Random(f"{config.seed}:expenses"), sheets.entries)
    stamped = _render(run, firm, sheets, acceptances)
    stamped += [catalog.expense_approved(run, x) for x in spent]
    stamped += [catalog.expense_rejected(run, r) for r in returned]
    closes = plan_closes(config, firm)
    stamped += [catalog.rate_card_published(run, c) for c in plan_rate_cards(config, firm, ref)]
    stamped += [catalog.fx_rates_published(run, fx) for fx in plan_fx(config)]
    stamped += [catalog.project_closed(run, c) for c in closes]
    if config.staffing:
        stamped += plan_staffing(run, firm, sheets)
    faults: tuple[InjectedFault, ...] = ()
    if config.data_faults:
        injected = inject_data_faults(run, config, random.Random(f"{config.seed}:data-faults"),
                                      ref, firm, sheets, closes)
        stamped += [i.stamped for i in injected]
        faults = tuple(i.fault for i in injected)
    stamped.sort(key=Stamped.order)
    items = [s.item for s in stamped]
    if config.delivery_faults:
        items = deliver(items, random.Random(f"{config.seed}:delivery-faults"))
    return Simulation(config, tuple(items), faults)


def _render(run: str, firm: Firm, sheets: Timesheets,
            acceptances: tuple[Acceptance, ...]) -> list[Stamped]:
    by_id = {w.worker_id: w for w in firm.workers}
    out = [catalog.worker_upserted(run, w) for w in firm.workers]
    out += [catalog.worker_raised(run, by_id[r.worker_id], r) for r in firm.raises]
    raised = {r.worker_id for r in firm.raises}
    out += [catalog.worker_terminated(run, t, 3 if t.worker_id in raised else 2)
            for t in firm.terminations]
    out += [catalog.deal_closed(run, d) for d in firm.deals]
    out += [catalog.time_approved(run, e) for e in sheets.entries]
    out += [catalog.time_rejected(run, r) for r in sheets.rejections]
    out += [catalog.milestone_completed(run, a) for a in acceptances]
    return out


def end_of_stream(sim: Simulation) -> datetime:
    """The latest event time in the stream (raw, non-JSON lines have none)."""
    times = [datetime.fromisoformat(str(e["time"]).replace("Z", "+00:00"))
             for e in sim.events if isinstance(e, dict) and isinstance(e.get("time"), str)]
    if not times:
        raise ValueError("the simulation has no events")
    return max(times)
