"""Staffing benchmark: the match of 500 open requests against 2,000 workers, and the 12-month
forecast of that firm.

The firm (deterministic, seed 15): 2,000 workers in 5 roles and 12 cities, 0–4 of 40 skills
each (levels 1–5), cost rates 40–160, capacity 40 h/wk (some 32 or 37.5), a leave of a week
for a third of them, and 0–3 confirmed assignments each over 2026 (within capacity); 500
open requests of 100 projects, 1–3 skills each, 8–40 h/wk over 2–16 weeks of 2026.

Timed in the same run (CPU time, `time.process_time`):
- **batch**: `domain.staffing.match_many` of the 500 requests, top 10 each (goal ≤ 1 s);
- **bare baseline**: the floor of touching each (request, worker) pair once: the skill fit
  of every pair as one NumPy product of the request × skill and skill × worker matrices
  (minimum levels as weights over workers' levels; no calendar, no ranking);
- **single path**: `domain.staffing.match` (day by day, Decimal) for 5 of the requests,
  scaled to 500; its answers are compared with the batch's;
- **service**: the same firm written to a fresh SQLite file, `services.workforce.matching.
  open_matches` (facts read once, requests grouped by start date) and the `forecast` report
  for 12 months (planned revenue, cost, margin, RPO joined) from that file.

`SYNCLINE_BENCH_STAFFING_WORKERS` / `_REQUESTS` change the size (default 2,000 / 500).
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from syncline.domain.staffing import Booking, Request, Span, Worker, match, match_many

GOAL = 1.0
YEAR = date(2026, 1, 5)  # a Monday
ROLES = ("partner", "manager", "senior_consultant", "consultant", "analyst")
CITIES = (("Boston", "US", "America/New_York"), ("New York", "US", "America/New_York"),
          ("Chicago", "US", "America/Chicago"), ("Austin", "US", "America/Chicago"),
          ("Denver", "US", "America/Denver"), ("Seattle", "US", "America/Los_Angeles"),
          ("London", "GB", "Europe/London"), ("Manchester", "GB", "Europe/London"),
          ("Berlin", "DE", "Europe/Berlin"), ("Munich", "DE", "Europe/Berlin"),
          ("Toronto", "CA", "America/Toronto"), ("Dublin", "IE", "Europe/Dublin"))
SKILLS = tuple(f"skill-{i:02d}" for i in range(40))
RATES = {"partner": 350, "manager": 250, "senior_consultant": 190, "consultant": 150,
         "analyst": 110}


def _span(rng: random.Random, weeks: tuple[int, int]) -> Span:
    start = YEAR + timedelta(weeks=rng.randrange(0, 44))
    return Span(start, start + timedelta(weeks=rng.randint(*weeks), days=-3))


def firm(workers: int, requests: int, seed: int = 15
         ) -> tuple[list[Worker], list[Request], list[tuple[str, str, int, Booking]]]:
    """Workers, open requests and the confirmed assignments (project, worker index, booking)."""
    rng = random.Random(seed)
    people, booked = [], []
    for i in range(workers):
        city, country, zone = CITIES[rng.randrange(len(CITIES))]
        capacity = Decimal(rng.choice(("40", "40", "40", "32", "37.5")))
        leave = (_span(rng, (1, 1)),) if rng.random() < 0.33 else ()
        bookings: list[Booking] = []
        for _ in range(rng.randint(0, 3)):
            b = Booking(Decimal(rng.choice((8, 16, 20))), _span(rng, (4, 20)))
            bookings.append(b)
        # keep within capacity on every day: drop a booking that would not fit
        kept: list[Booking] = []
        for b in bookings:
            if sum((k.hours_per_week for k in kept if k.span.start <= b.span.end
                    and k.span.end >= b.span.start), Decimal(0)) + b.hours_per_week <= capacity:
                kept.append(b)
        worker_id = f"W-{i + 1:05d}"
        for j, b in enumerate(kept):
            booked.append((f"A-{worker_id}-{j}", f"P-{rng.randrange(100):03d}", i, b))
        people.append(Worker(
            worker_id, f"Person {i + 1}", rng.choice(ROLES), Decimal(rng.randint(40, 160)),
            skills={s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(0, 4))},
            city=city, country=country, time_zone=zone, capacity=capacity,
            unavailable=leave, bookings=tuple(kept)))
    asked = []
    for i in range(requests):
        role = rng.choice(ROLES)
        city, country, zone = CITIES[rng.randrange(len(CITIES))]
        where = rng.random()
        asked.append(Request(
            f"RR-{i + 1:04d}", role, Decimal(rng.choice((8, 16, 20, 24, 40))),
            _span(rng, (2, 16)),
            skills={s: rng.randint(1, 4) for s in rng.sample(SKILLS, rng.randint(1, 3))},
            city=city if where < 0.5 else None, country=country if where < 0.8 else None,
            time_zone=zone if where >= 0.8 else None,
            bill_rate=Decimal(RATES[role]) if rng.random() < 0.9 else None))
    return people, asked, booked


def bare_skill_product(people: list[Worker], asked: list[Request]) -> float:
    """CPU seconds of the pairwise skill fit as one matrix product (the baseline)."""
    index = {s: k for k, s in enumerate(SKILLS)}
    levels = np.zeros((len(SKILLS), len(people)))
    for j, w in enumerate(people):
        for s, lv in w.skills.items():
            levels[index[s], j] = lv
    weights = np.zeros((len(asked), len(SKILLS)))
    for i, r in enumerate(asked):
        for s, minimum in r.skills.items():
            weights[i, index[s]] = 1 / (minimum * len(r.skills))
    started = time.process_time()
    fit = weights @ levels
    fit.argmax(axis=1)
    return time.process_time() - started


def _cpu(fn):  # type: ignore[no-untyped-def]
    started = time.process_time()
    result = fn()
    return time.process_time() - started, result


def _write_db(path: Path, people: list[Worker], asked: list[Request],
              booked: list[tuple[str, str, int, Booking]]) -> object:
    """The firm as rows of a fresh Syncline database (schema by bootstrap)."""
    from sqlalchemy import insert

    from syncline.adapters.db.revenue_tables import revenue_schedules
    from syncline.adapters.db.tables import (
        contracts,
        customers,
        projects,
        worker_versions,
        workers,
    )
    from syncline.adapters.db.workforce_tables import (
        assignments,
        resource_requests,
        worker_profiles,
    )
    from syncline.bootstrap import bootstrap
    from syncline.config import Settings

    system = bootstrap(Settings(database_url=f"sqlite:///{path}"),
                       clock=lambda: datetime(2026, 1, 1, tzinfo=UTC), durable=False)
    codes = sorted({p for _, p, _, _ in booked} | {f"P-{i:03d}" for i in range(100)})
    with system.engine.begin() as conn:
        conn.execute(insert(customers), [{"id": "cus_1", "external_id": "C-1", "name": "C",
                                          "country": "US"}])
        conn.execute(insert(contracts), [{
            "id": f"ctr_{c}", "number": f"C-{c}", "deal_id": f"D-{c}", "customer_id": "cus_1",
            "entity_code": "US01", "tax_profile": "US-EXEMPT", "currency": "USD",
            "start_date": "2026-01-01", "end_date": "2026-12-31", "billing_type": "fixed_fee",
            "payment_terms_days": 30, "service_line": "consulting", "version": 1}
            for c in codes])
        conn.execute(insert(projects), [{"id": f"prj_{c}", "code": c, "name": c,
                                         "contract_id": f"ctr_{c}", "template": "advisory",
                                         "status": "active"} for c in codes])
        conn.execute(insert(revenue_schedules), [{
            "contract_number": f"C-{c}", "obligation_id": "L1", "period": f"2026-{m:02d}",
            "currency": "USD", "revenue": Decimal(20000), "cumulative": Decimal(20000 * m),
            "allocated": Decimal(240000), "method": "ratable", "as_of": "2026-01-01",
            "version": 1} for c in codes for m in range(1, 13)])
        conn.execute(insert(workers), [{
            "id": f"wkr_{w.worker_id}", "worker_id": w.worker_id, "name": w.name,
            "role": w.role, "entity_code": "US01", "status": "active", "last_sequence": 1}
            for w in people])
        conn.execute(insert(worker_versions), [{
            "worker_id": w.worker_id, "sequence": 1, "effective_date": "2025-01-01",
            "role": w.role, "entity_code": "US01", "cost_rate": w.cost_rate,
            "cost_currency": "USD"} for w in people])
        conn.execute(insert(worker_profiles), [{
            "worker_id": w.worker_id, "sequence": 1, "effective_date": "2025-01-01",
            "skills": json.dumps([{"skill": s, "level": lv} for s, lv in w.skills.items()]),
            "certifications": "[]", "city": w.city, "country": w.country,
            "time_zone": w.time_zone, "cost_center": "CC-100", "capacity_hours": w.capacity,
            "target_utilization": w.target, "unavailability": json.dumps([
                {"start_date": u.start.isoformat(), "end_date": u.end.isoformat(),
                 "kind": "leave"} for u in w.unavailable])} for w in people])
        requests_rows = [{
            "request_id": r.request_id, "project_code": f"P-{i % 100:03d}", "role": r.role,
            "skills": json.dumps([{"skill": s, "min_level": m} for s, m in r.skills.items()]),
            "hours_per_week": r.hours_per_week, "start_date": r.span.start.isoformat(),
            "end_date": r.span.end.isoformat(), "location": json.dumps(
                {k: v for k, v in (("city", r.city), ("country", r.country),
                                   ("time_zone", r.time_zone)) if v}),
            "billable": r.bill_rate is not None, "bill_rate": r.bill_rate,
            "currency": "USD" if r.bill_rate else None, "status": "open"}
            for i, r in enumerate(asked)]
        requests_rows += [{
            "request_id": f"RQ-{aid}", "project_code": project, "role": people[i].role,
            "skills": "[]", "hours_per_week": b.hours_per_week,
            "start_date": b.span.start.isoformat(), "end_date": b.span.end.isoformat(),
            "location": "{}", "billable": True, "bill_rate": Decimal(RATES[people[i].role]),
            "currency": "USD", "status": "filled"} for aid, project, i, b in booked]
        conn.execute(insert(resource_requests), requests_rows)
        conn.execute(insert(assignments), [{
            "assignment_id": aid, "request_id": f"RQ-{aid}", "worker_id": people[i].worker_id,
            "project_code": project, "hours_per_week": b.hours_per_week,
            "start_date": b.span.start.isoformat(), "end_date": b.span.end.isoformat(),
            "status": "confirmed"} for aid, project, i, b in booked])
    return system


def main() -> None:
    n_workers = int(os.environ.get("SYNCLINE_BENCH_STAFFING_WORKERS", "2000"))
    n_requests = int(os.environ.get("SYNCLINE_BENCH_STAFFING_REQUESTS", "500"))
    people, asked, booked = firm(n_workers, n_requests)
    print(f"firm: {len(people):,} workers, {len(booked):,} confirmed assignments, "
          f"{len(asked):,} open requests")
    bare = bare_skill_product(people, asked)
    batch, ranked = _cpu(lambda: match_many(asked, people, 10))
    sample = asked[:: max(1, len(asked) // 5)][:5]
    single, singles = _cpu(lambda: [match(r, people, 10) for r in sample])
    same = all(ranked[asked.index(r)] == s for r, s in zip(sample, singles, strict=True))
    print(f"batch match, top 10 each: {batch:.3f} s CPU = {batch / len(asked) * 1000:.2f} ms "
          f"a request (goal ≤ {GOAL:.0f} s: {'met' if batch <= GOAL else 'NOT met'})")
    print(f"bare baseline (pairwise skill fit, one NumPy matrix product): {bare:.4f} s CPU; "
          f"ratio batch / bare {batch / max(bare, 1e-6):.0f}x")
    print(f"single path (day by day, Decimal): {single / len(sample):.3f} s CPU a request = "
          f"{single / len(sample) * len(asked):.0f} s for {len(asked)}; batch is "
          f"{single / len(sample) * len(asked) / batch:.0f}x faster; same answers: {same}")
    print(f"best candidate of {asked[0].request_id}: {ranked[0][0].summary()}")
    with tempfile.TemporaryDirectory() as tmp:
        system = _write_db(Path(tmp) / "bench-staffing.db", people, asked, booked)
        from syncline.services.workforce.matching import open_matches
        from syncline.services.workforce.reports import forecast

        engine = system.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            served, found = _cpu(lambda: open_matches(conn, 10))
            print(f"service: open_matches from SQLite (facts read once, {len(found):,} "
                  f"requests): {served:.3f} s CPU")
            spent, report = _cpu(lambda: forecast(conn, "2026-01", 12))
            rows = report.tables[0].rows
            revenue = sum((Decimal(str(r[4])) for r in rows), Decimal(0))
            print(f"forecast 2026-01 + 11 months: {len(rows):,} project-month rows, planned "
                  f"revenue {revenue:,} in {spent:.3f} s CPU")
        engine.dispose()


if __name__ == "__main__":
    main()
