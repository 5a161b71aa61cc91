"""Walking-skeleton throughput: receive, apply and bill a simulated firm on SQLite.

Each phase in wall-clock and in CPU seconds of this process (`time.process_time`): on a
shared, loaded machine compare the CPU figures between runs."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from syncline.services.messaging.inbox import receive_many
from syncline.simulator import SimulationConfig, simulate


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    cfg = SimulationConfig(seed=7, customers=40, workers=120, months=6)
    t0 = _now()
    lines = simulate(cfg).to_jsonl().splitlines()
    t1 = _now()
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'b.db'}"),
                           durable=False)
        t2 = _now()
        for start in range(0, len(lines), 2000):
            with system.engine.begin() as conn:
                receive_many(conn, lines[start:start + 2000], now=system.clock())
        t3 = _now()
        stats = system.process()
        t4 = _now()
        for m in range(cfg.months):
            run_billing(system.engine, f"2026-{m + 1:02d}", system.ref, system.charts,
                        system.clock())
        t5 = _now()
        system.engine.dispose()
    n = len(lines)
    print(f"events: {n:,} ({cfg.customers} customers, {cfg.workers} workers, "
          f"{cfg.months} months); simulate {t1[0] - t0[0]:.2f} s")
    for label, at in (("wall", 0), ("CPU", 1)):
        print(f"[{label}] receive (raw to inbox, schema-checked): "
              f"{n / (t3[at] - t2[at]):,.0f} events/s")
        print(f"[{label}] apply (units of work, {stats.applied:,} applied): "
              f"{n / (t4[at] - t3[at]):,.0f} events/s")
        print(f"[{label}] billing runs: {cfg.months} months in {t5[at] - t4[at]:.2f} s")
        print(f"[{label}] end to end: {n / (t5[at] - t2[at]):,.0f} events/s")


if __name__ == "__main__":
    main()
