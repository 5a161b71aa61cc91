"""Month-end close benchmark: does the close of month 12 cost what the close of month 1 costs
(issue 10: "close cost proportional to the period", goal month 12 / month 1 <= 1.2x)?

The firm (built here, not timed): a steady consulting firm — every consultant books the same
number of approved time entries every working day of the year, on two or three
time-and-materials contracts of their legal entity (a few "mobile" consultants also work for
another entity's contracts, which the close charges intercompany), about one entry in a hundred
is rejected after approval. Workers, customers, contracts' terms, rate cards and month-end FX
rates come from the firm simulator (``syncline.simulator``), rendered by its event catalog, so
every message is a real v1 event. Unlike the simulator's own stream (deals closing over the
first half of the window, so month 1 has a few dozen entries), every month here carries the same
load: the only thing that differs between the close of month 1 and of month 12 is the history
behind it.

The history is built by the honest route: each month's events are ingested through the
processor (``syncline ingest``'s ``ingest_lines``: receive raw into the inbox, then apply), and
each month is closed (every close step, then close and lock) before the next month arrives, as
a firm would. Timed: every close step of month 1 and of month 12 (and the months between),
in CPU seconds of this process (``time.process_time``: the machine is shared) and wall seconds.

Baseline in the same run: the query the PSA-hours check used before the period-indexed fact
(read and JSON-decode every ``time.approved`` message ever received), timed at the same points.

The process is settled once its system is wired (``bootstrap.settle_process``, as a command's
process is), so that the objects it holds for life are not walked by every full collection;
the full collections made inside each timed close are counted and printed.

``SYNCLINE_BENCH_CLOSE_PROFILE=directory`` writes a cProfile of the close of month 1 and of
month 12 there (``close-2026-01.prof``, ``close-2026-12.prof``); ``SYNCLINE_BENCH_CLOSE_KEEP=path``
copies the firm's database there at the end (to compare two codes' tables row for row).
``SYNCLINE_BENCH_CLOSE_CALLGRIND=1``, with the bench run under ``valgrind --tool=callgrind
--instr-atstart=no``: the instructions of each step of the close of month 1 and of month 12
are counted (instrumentation on only there; a dump per step, labelled ``<period> <step>``,
read by ``callgrind_annotate`` or the ``totals:`` line of each dump) — the firm figure on a
shared machine, where CPU seconds vary with the load.

``SYNCLINE_BENCH_CLOSE_SIZE=consultants,contracts,entries_per_day`` (default ``10,20,2``:
about 440 time entries a month, a few minutes here; ``30,75,4`` is about 2,600 a month, 31,000
in the year, a quarter of an hour or more; the issue's
firm is ``2000,5000,4``, about 170,000 a month, which takes hours to ingest at today's apply
rate).
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import func, select

from syncline.adapters.db.tables import inbox, time_entries
from syncline.bootstrap import Syncline, bootstrap, settle_process
from syncline.cli.ingest import ingest_lines
from syncline.config import Settings
from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.services.close.steps import LEDGER_STEPS, close_and_lock
from syncline.simulator import catalog
from syncline.simulator.envelope import Stamped, add_months, at_hour, run_key
from syncline.simulator.firm import Deal, Firm, Worker, plan_firm
from syncline.simulator.model import SimulationConfig
from syncline.simulator.pricing import plan_fx, plan_rate_cards
from syncline.simulator.timesheets import Rejection, TimeEntry, _mobile, _task

GOAL = 1.2
YEAR = date(2026, 1, 1)
MONTHS = 12
_QUARTER = Decimal("0.25")


def _firm(consultants: int, contracts: int) -> tuple[SimulationConfig, Firm]:
    """Workers and customers from the simulator's planner; ``contracts`` time-and-materials
    contracts (the planner's T&M deals as patterns) signed in the November before the year and
    running through it, so every month of the year has the same work."""
    config = SimulationConfig(seed=11, customers=max(3, contracts // 2), workers=consultants,
                              months=MONTHS + 2, start=date(2025, 12, 1))
    planned = plan_firm(config, random.Random(config.seed), DEFAULT_REFERENCE)
    patterns = [d for d in planned.deals if d.billing_type == "time_and_materials"]
    deals = tuple(
        replace(p, deal_id=f"OPP-{1001 + i}", contract_number=f"C-{1001 + i}",
                project_code=f"P-{1001 + i}",
                closed_at=datetime(2025, 11, 3, 15, tzinfo=UTC) + timedelta(hours=i % 500),
                start=date(2025, 12, 1), end=date(2027, 3, 31), estimated_hours=None,
                milestones=())
        for i, p in ((i, patterns[i % len(patterns)]) for i in range(contracts)))
    return config, Firm(planned.workers, (), (), planned.customers, deals)


def _staffing(firm: Firm, rng: random.Random) -> dict[str, list[Deal]]:
    """Each consultant on three contracts of their entity (mobile ones: of any entity),
    dealt round-robin so every contract is staffed when there are seats enough."""
    by_entity: dict[str, list[Deal]] = {}
    for d in firm.deals:
        by_entity.setdefault(d.customer.entity, []).append(d)
    turn: dict[str, int] = {}
    out: dict[str, list[Deal]] = {}
    for w in firm.workers:
        pool = list(firm.deals) if _mobile(w) else by_entity.get(w.entity) or list(firm.deals)
        key = "*" if _mobile(w) else w.entity
        k = turn.get(key, rng.randrange(len(pool)))
        out[w.worker_id] = [pool[(k + j) % len(pool)] for j in range(3)]
        turn[key] = k + 3
    return out


def _month_of_time(workers: tuple[Worker, ...], staffed: dict[str, list[Deal]], per_day: int,
                   month: date, rng: random.Random, numbering: list[int],
                   run: str) -> list[Stamped]:
    """A month of approved time: ``per_day`` entries a working day per consultant, approved
    on Friday evening (or the month's last day for its last part week); one in a hundred
    rejected the next morning."""
    out: list[Stamped] = []
    end = add_months(month, 1)
    day = month
    while day < end:
        if day.weekday() < 5:
            friday = min(day + timedelta(days=4 - day.weekday()), end - timedelta(days=1))
            for w in workers:
                deals = staffed[w.worker_id]
                for j in range(per_day):
                    deal = deals[j % len(deals)]
                    task, billable = _task(rng, DEFAULT_REFERENCE, deal, day)
                    numbering[0] += 1
                    entry = TimeEntry(f"TE-{numbering[0]}", w, deal, task, billable, day,
                                      Decimal(rng.randint(6, 9)) * _QUARTER,
                                      at_hour(friday, rng, 17, 21))
                    out.append(catalog.time_approved(run, entry))
                    if rng.random() < 0.01:
                        out.append(catalog.time_rejected(run, Rejection(
                            entry, entry.approved_at + timedelta(hours=2),
                            "Booked to the wrong project")))
        day += timedelta(days=1)
    return out


def _lines(stamped: list[Stamped]) -> list[str]:
    stamped.sort(key=Stamped.order)
    return [json.dumps(s.item, separators=(",", ":")) for s in stamped]


def _old_psa_word(system: Syncline) -> tuple[int, float]:
    """The baseline: the history-wide read the PSA-hours check made before the fact table
    (every ``time.approved`` message ever received, JSON-decoded, last one per entry)."""
    started = time.process_time()
    last: dict[str, Any] = {}
    with system.engine.connect() as conn:
        for r in conn.execute(select(inbox.c.id, inbox.c.raw, inbox.c.status).where(
                inbox.c.type == "time.approved").order_by(inbox.c.seq)):
            data = json.loads(r.raw)["data"]
            last[str(data["time_entry_id"])] = (r.status, data)
    return len(last), time.process_time() - started


def _timed(fn: Callable[[], Any], counted: str | None = None) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    took = time.perf_counter() - wall, time.process_time() - cpu
    if counted:
        _callgrind(f"--dump={counted}")
    return took


def _callgrind(*args: str) -> None:
    """Tell the callgrind this process runs under (``callgrind_control``)."""
    subprocess.run(["callgrind_control", *args, str(os.getpid())], check=True,
                   capture_output=True)


def _full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])


def _close(system: Syncline, period: str, profile: Path | None = None,
           counted: bool = False) -> tuple[dict[str, tuple[float, float]], str]:
    """Every step of the close in order, then close and lock when the checks agree; the
    timings per step and what the periods came to (and the full collections made inside)."""
    profiler = cProfile.Profile(time.process_time) if profile else None
    if profiler:
        profiler.enable()
    try:
        return _close_steps(system, period, counted)
    finally:
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(str(profile / f"close-{period}.prof"))


def _close_steps(system: Syncline, period: str,
                 counted: bool = False) -> tuple[dict[str, tuple[float, float]], str]:
    collections = _full_collections()
    out: dict[str, tuple[float, float]] = {}
    done: dict[str, Any] = {}
    if counted:
        _callgrind("--zero")
        _callgrind("--instr=on")
    for name, step in LEDGER_STEPS:
        out[name] = _timed(lambda name=name, step=step: done.update(  # type: ignore[misc]
            {name: step(system, period, None)}), f"{period} {name}" if counted else None)
    ok = bool(done["reconciliation"]["ok"])
    out["close+lock"] = _timed(lambda: done.update(lock=close_and_lock(
        system, period, None, actor="bench", lock=ok)), f"{period} close+lock" if counted else None)
    if counted:
        _callgrind("--instr=off")
    state = ", ".join(f"{e}: {s}" for e, s in sorted(done["lock"].items()))
    state += f"; full collections in the close: {_full_collections() - collections}"
    return out, state + ("" if ok else " (checks differ)")


def main() -> None:
    size = os.environ.get("SYNCLINE_BENCH_CLOSE_SIZE", "10,20,2")
    profile = os.environ.get("SYNCLINE_BENCH_CLOSE_PROFILE")
    keep = os.environ.get("SYNCLINE_BENCH_CLOSE_KEEP")
    counted = os.environ.get("SYNCLINE_BENCH_CLOSE_CALLGRIND") == "1"
    consultants, contracts, per_day = (int(x) for x in size.split(","))
    config, firm = _firm(consultants, contracts)
    run = run_key(config)
    rng = random.Random(f"{config.seed}:bench-close")
    staffed = _staffing(firm, rng)
    setup = [catalog.worker_upserted(run, w) for w in firm.workers]
    setup += [catalog.deal_closed(run, d) for d in firm.deals]
    setup += [catalog.rate_card_published(run, c) for c in plan_rate_cards(config, firm,
                                                                           DEFAULT_REFERENCE)]
    fx = [catalog.fx_rates_published(run, p) for p in plan_fx(config)]
    print(f"firm: {len(firm.workers):,} consultants, {len(firm.deals):,} T&M contracts, "
          f"{per_day} time entries a working day each "
          f"(SYNCLINE_BENCH_CLOSE_SIZE={consultants},{contracts},{per_day})", flush=True)
    clock_now = [datetime(2026, 1, 1, tzinfo=UTC)]
    numbering = [100000]
    results: dict[str, dict[str, tuple[float, float]]] = {}
    baseline: dict[str, tuple[int, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'close.db'}"),
                           clock=lambda: clock_now[0], durable=False)
        settle_process()  # as a command's process does once it is wired (cli/common.py)
        quiet = Console(quiet=True)
        month = YEAR
        pending = setup + [s for s in fx if s.at.date() < YEAR]
        for m in range(1, MONTHS + 1):
            period = f"{month.year}-{month.month:02d}"
            stamped = pending + _month_of_time(firm.workers, staffed, per_day, month, rng,
                                               numbering, run)
            stamped += [s for s in fx if s.at.date().replace(day=1) == month]
            lines = _lines(stamped)
            clock_now[0] = datetime.combine(add_months(month, 1), datetime.min.time(),
                                            tzinfo=UTC) + timedelta(hours=6)
            ingest = _timed(lambda lines=lines: ingest_lines(system, lines, quiet, True))
            with system.engine.connect() as conn:
                entries = conn.execute(select(func.count()).select_from(time_entries)).scalar()
                in_period = conn.execute(select(func.count()).select_from(time_entries).where(
                    time_entries.c.work_date.like(f"{period}-%"))).scalar()
            if m in (1, MONTHS):
                baseline[period] = _old_psa_word(system)
            ends = m in (1, MONTHS)
            steps, state = _close(system, period, Path(profile) if profile and ends else None,
                                  counted and ends)
            system.deliver()
            results[period] = steps
            total = sum(c for _, c in steps.values())
            print(f"{period}: ingested {len(lines):,} events in {ingest[0]:.0f} s; "
                  f"time entries {in_period:,} in the month, {entries:,} in the history; "
                  f"close {total:.2f} CPU s; {state}", flush=True)
            pending = []
            month = add_months(month, 1)
        system.engine.dispose()
        if keep:
            shutil.copyfile(Path(tmp) / "close.db", keep)
    first, last = f"{YEAR.year}-01", f"{YEAR.year}-{MONTHS:02d}"
    print(f"\nclose per step, CPU s (wall s): month 1 ({first}) vs month {MONTHS} ({last})")
    for name in results[first]:
        (w1, c1), (w12, c12) = results[first][name], results[last][name]
        ratio = f"{c12 / c1:.2f}x" if c1 > 0.005 else "-"
        print(f"  {name:<17} {c1:8.2f} ({w1:6.2f})  {c12:8.2f} ({w12:6.2f})  {ratio}")
    c1 = sum(c for _, c in results[first].values())
    c12 = sum(c for _, c in results[last].values())
    w1 = sum(w for w, _ in results[first].values())
    w12 = sum(w for w, _ in results[last].values())
    print(f"  {'whole close':<17} {c1:8.2f} ({w1:6.2f})  {c12:8.2f} ({w12:6.2f})  "
          f"{c12 / c1:.2f}x")
    (n1, b1), (n12, b12) = baseline[first], baseline[last]
    print(f"baseline, the old history-wide read of every time.approved message: "
          f"{b1:.2f} CPU s over {n1:,} entries at month 1, {b12:.2f} CPU s over {n12:,} at "
          f"month {MONTHS} ({b12 / max(b1, 1e-9):.1f}x)")
    growers = sorted(((results[last][n][1] - results[first][n][1], n) for n in results[first]),
                     reverse=True)
    print("month 12 - month 1, CPU s, largest first: " + ", ".join(
        f"{n} {d:+.2f}" for d, n in growers[:4]))
    verdict = "MEETS" if c12 / c1 <= GOAL else "MISSES"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"VERDICT: close of month {MONTHS} / month 1 = {c12 / c1:.2f}x in CPU seconds "
          f"({c1:.2f} s vs {c12:.2f} s; wall {w12 / w1:.2f}x): {verdict} the goal <= {GOAL}x "
          f"(load average {load}; CPU is the figure to compare on a shared machine)")


if __name__ == "__main__":
    main()
