"""Revenue engine benchmark: schedules recomputed per second over synthetic contracts.

100,000 contracts of mixed methods (ratable, cost-to-cost with versioned estimates,
milestones, T&M right to invoice, point in time, variable consideration) over 36 months;
then the time of an incremental recompute after one amendment (one contract re-run).

Only ``compute_schedule`` is timed (the contracts are built first). The machine is shared,
so the single-process pass is timed in ten slices: the headline is the whole pass (wall
clock), with the median and slowest slice and the CPU time beside it to show the noise.
``REVENUE_BENCH_CONTRACTS`` sets the number of contracts.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal as D

from syncline.revenue import RevenuePolicy, compute_schedule
from syncline.revenue.model import (
    Actual,
    ActualKind,
    Convention,
    Estimate,
    Method,
    MethodKind,
    Milestone,
    Modification,
    Obligation,
    ObligationChange,
    RevenueContract,
    Scenario,
    Ssp,
    SspMethod,
    VariableEstimate,
    VariableMethod,
)

GOAL = 5000.0
START = date(2024, 1, 1)
END = date(2026, 12, 31)  # 36 months
AS_OF = date(2026, 12, 31)


def _ob(oid: str, method: Method, price: int, ssp: int, end: date = END) -> Obligation:
    return Obligation(oid, oid, method, Ssp(SspMethod.OBSERVABLE, amount=D(ssp)), START, end,
                      D(price))


def synthetic(i: int, rng: random.Random) -> RevenueContract:
    kind = i % 5
    base = rng.randrange(10_000, 500_000)
    obs: list[Obligation] = [_ob("support", Method(MethodKind.RATABLE,
                                                   convention=Convention.MONTHLY_EVEN),
                                 base // 3, base // 3)]
    actuals: list[Actual] = []
    estimates: list[Estimate] = []
    variable: list[VariableEstimate] = []
    if kind == 0:  # fixed fee, cost to cost, two estimate versions
        obs.append(_ob("build", Method(MethodKind.COST_TO_COST), base, base))
        estimates += [Estimate("build", START, D(base * 7 // 10)),
                      Estimate("build", date(2025, 1, 1), D(base * 8 // 10))]
        actuals += [Actual("build", ActualKind.COST, START + timedelta(days=30 * m + 10),
                           D(base // 50)) for m in range(36)]
    elif kind == 1:  # milestones + implementation delivered at a point in time
        ms = tuple(Milestone(f"m{j}", D(1)) for j in range(4))
        obs.append(_ob("phases", Method(MethodKind.MILESTONES, milestones=ms), base, base))
        obs.append(_ob("setup", Method(MethodKind.POINT_IN_TIME), base // 10, base // 8))
        actuals += [Actual("phases", ActualKind.MILESTONE, START + timedelta(days=200 * j),
                           ref=f"m{j}") for j in range(4)]
        actuals.append(Actual("setup", ActualKind.DELIVERY, date(2024, 3, 1)))
    elif kind == 2:  # time and materials
        obs.append(_ob("tm", Method(MethodKind.RIGHT_TO_INVOICE), 0, 0))
        actuals += [Actual("tm", ActualKind.BILLABLE, START + timedelta(days=30 * m + 5),
                           D(rng.randrange(1000, 9000))) for m in range(36)]
    elif kind == 3:  # ratable daily with a success fee (variable, reassessed)
        obs.append(_ob("managed", Method(MethodKind.RATABLE, convention=Convention.DAILY),
                       base, base))
        for eff, p in ((START, "0.4"), (date(2025, 6, 1), "0.7")):
            variable.append(VariableEstimate(
                "bonus", eff, VariableMethod.EXPECTED_VALUE,
                (Scenario(D(base // 10), D(p)), Scenario(D(0), 1 - D(p)))))
    else:  # hours-based input method
        obs.append(_ob("advisory", Method(MethodKind.HOURS), base, base))
        estimates.append(Estimate("advisory", START, D(2000)))
        actuals += [Actual("advisory", ActualKind.HOURS, START + timedelta(days=30 * m + 3),
                           D(50)) for m in range(36)]
    return RevenueContract(id=f"C{i}", currency="USD", start=START, obligations=tuple(obs),
                           actuals=tuple(actuals), estimates=tuple(estimates),
                           variable=tuple(variable))


def _worker(args: tuple[int, int]) -> tuple[int, float]:
    first, count = args
    rng = random.Random(first)
    contracts = [synthetic(first + i, rng) for i in range(count)]
    policy = RevenuePolicy()
    t0 = time.perf_counter()
    for c in contracts:
        compute_schedule(c, policy, AS_OF)
    return count, time.perf_counter() - t0


def main() -> None:
    n = int(os.environ.get("REVENUE_BENCH_CONTRACTS", "100000"))
    rng = random.Random(606)
    t0 = time.perf_counter()
    contracts = [synthetic(i, rng) for i in range(n)]
    t1 = time.perf_counter()
    print(f"revenue: built {n:,} synthetic contracts (36 months, mixed methods) "
          f"in {t1 - t0:.1f} s")
    policy = RevenuePolicy()
    total = 0
    slices = 10 if n >= 10 else 1
    bounds = [n * k // slices for k in range(slices + 1)]
    rates = []
    c0 = time.process_time()
    t1 = time.perf_counter()
    for lo, hi in itertools.pairwise(bounds):
        s0 = time.perf_counter()
        for c in contracts[lo:hi]:
            r = compute_schedule(c, policy, AS_OF)
            total += r.cumulative_at(r.as_of_index)
        rates.append((hi - lo) / (time.perf_counter() - s0))
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    rate = n / (t2 - t1)
    print(f"revenue: recomputed {n:,} schedules in {t2 - t1:.2f} s = {rate:,.0f} contracts/s "
          f"(goal {GOAL:,.0f}/s, ratio {rate / GOAL:.2f}) on {os.cpu_count()} cores, 1 process")
    print(f"revenue:   slices of {n // slices:,}: median {statistics.median(rates):,.0f}/s, "
          f"slowest {min(rates):,.0f}/s; CPU time {cpu:.2f} s = {n / cpu:,.0f} contracts/s")
    procs = os.cpu_count() or 1
    if procs > 1:
        import multiprocessing as mp

        share = n // procs
        with mp.get_context("fork").Pool(procs) as pool:
            parts = pool.map(_worker, [(k * share, share) for k in range(procs)])
        wall = max(t for _, t in parts)
        prate = sum(c for c, _ in parts) / wall
        print(f"revenue: {procs} processes (compute time of the slowest): {prate:,.0f} "
              f"contracts/s (ratio {prate / GOAL:.2f} to the goal)")
    # incremental recompute after one amendment: only the amended contract is re-run
    target = contracts[0]
    amended = RevenueContract(**{**{f: getattr(target, f) for f in target.__dataclass_fields__},
                                 "modifications": (Modification(
                                     "A1", date(2025, 7, 1),
                                     changes=(ObligationChange("support", D(5000),
                                                               new_end=date(2027, 6, 30)),),
                                     priced_at_ssp=False),)})
    times = []
    for _ in range(200):
        t3 = time.perf_counter()
        r2 = compute_schedule(amended, policy, AS_OF)
        times.append(time.perf_counter() - t3)
    print(f"revenue: incremental recompute after one amendment: "
          f"{statistics.median(times) * 1e3:.2f} ms median, {min(times) * 1e3:.2f} ms best "
          f"per amended contract (treatment {r2.decisions[0].treatment.value}); "
          f"portfolio total {total:,} minor units")


if __name__ == "__main__":
    main()
