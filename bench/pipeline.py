"""Walking-skeleton throughput: receive, apply and bill a simulated firm on SQLite."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from syncline.services.messaging.inbox import receive_many
from syncline.simulator import SimulationConfig, simulate


def main() -> None:
    cfg = SimulationConfig(seed=7, customers=40, workers=120, months=6)
    t0 = time.perf_counter()
    lines = simulate(cfg).to_jsonl().splitlines()
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'b.db'}"),
                           durable=False)
        t2 = time.perf_counter()
        for start in range(0, len(lines), 2000):
            with system.engine.begin() as conn:
                receive_many(conn, lines[start:start + 2000], now=system.clock())
        t3 = time.perf_counter()
        stats = system.process()
        t4 = time.perf_counter()
        for m in range(cfg.months):
            run_billing(system.engine, f"2026-{m + 1:02d}", system.ref, system.charts,
                        system.clock())
        t5 = time.perf_counter()
        system.engine.dispose()
    n = len(lines)
    print(f"events: {n:,} ({cfg.customers} customers, {cfg.workers} workers, "
          f"{cfg.months} months); simulate {t1 - t0:.2f} s")
    print(f"receive (raw to inbox, schema-checked): {n / (t3 - t2):,.0f} events/s")
    print(f"apply (units of work, {stats.applied:,} applied): {n / (t4 - t3):,.0f} events/s")
    print(f"billing runs: {cfg.months} months in {t5 - t4:.2f} s")
    print(f"end to end: {n / (t5 - t2):,.0f} events/s")
