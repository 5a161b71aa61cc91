"""Scale-out benchmark: N `syncline worker` processes on PostgreSQL against one process on
SQLite, applying the same stream (docs/scale-out.md).

Set-up (not timed): a simulated firm's stream; for SQLite a fresh file, for each PostgreSQL
run a fresh database (CREATE DATABASE with a unique name on the local server, dropped
afterwards) with N worker processes started and idle before anything arrives.

Timed: applying the whole stream. SQLite: `process()` in this process after receiving
everything. PostgreSQL: the stream is received in one transaction while the workers wait;
the clock runs from its commit until no message is left `received` (polled every 10 ms).
Each run's state fingerprint is compared with the SQLite run's: the same stream must give
the same state whatever the number of workers.

`SYNCLINE_BENCH_PG_SIZE=customers,workers,months` changes the stream (default 40,120,6,
about 13,000 events); `SYNCLINE_BENCH_PG_WORKERS=1,2,4` the worker counts;
`SYNCLINE_TEST_PG_URL` the server's admin URL. Without a PostgreSQL server the benchmark says
so and stops.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from syncline.adapters.db.scratch import ADMIN_URL, admin_engine, throwaway_database
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.queues import queue_depths
from syncline.services.state import fingerprint
from syncline.simulator import SimulationConfig, simulate


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sqlite(lines: list[str], tmp: Path) -> tuple[float, float, str]:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp / 'one.db'}"), durable=False)
    for start in range(0, len(lines), 2000):
        with system.engine.begin() as conn:
            receive_many(conn, lines[start:start + 2000], now=system.clock())
    started, cpu = time.perf_counter(), time.process_time()
    system.process()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    with system.engine.connect() as conn:
        state = fingerprint(conn)
    system.engine.dispose()
    return elapsed, cpu, state


def _postgres(lines: list[str], url: str, workers: int, tmp: Path
              ) -> tuple[float, float, str, list[int]]:
    """Elapsed seconds, the workers' CPU seconds (start-up included), state, applied each."""
    system = bootstrap(Settings(database_url=url), durable=False)  # migrated before workers
    cpu = _children_cpu()
    env = {**os.environ, "SYNCLINE_DATABASE_URL": url}
    logs = [tmp / f"worker-{i}.err" for i in range(workers)]
    procs = []
    for log in logs:
        with log.open("w") as stderr:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "syncline", "worker", "--no-deliver", "--idle", "0.05"],
                stdout=subprocess.PIPE, stderr=stderr, text=True, env=env))
    try:
        deadline = time.monotonic() + 120
        while not all("applying on" in log.read_text() for log in logs):  # all started
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker did not start: " + " / ".join(
                    log.read_text()[-1000:] for log in logs))
            time.sleep(0.05)
        with system.engine.begin() as conn:
            receive_many(conn, lines, now=system.clock())
        started = time.perf_counter()
        while True:
            with system.engine.connect() as conn:
                if queue_depths(conn)["inbox"]["received"] == 0:
                    break
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
    applied = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        last = out.strip().splitlines()[-1] if out.strip() else "{}"
        applied.append(int(json.loads(last).get("applied", 0)))
    cpu = _children_cpu() - cpu
    with system.engine.connect() as conn:
        state = fingerprint(conn)
    system.engine.dispose()
    return elapsed, cpu, state, applied


def main() -> None:
    size = os.environ.get("SYNCLINE_BENCH_PG_SIZE", "40,120,6")
    customers, n_workers, months = (int(x) for x in size.split(","))
    counts = [int(x) for x in os.environ.get("SYNCLINE_BENCH_PG_WORKERS", "1,2,4").split(",")]
    try:
        admin = admin_engine()
    except Exception as err:  # no server: nothing to measure
        print(f"skipped: PostgreSQL not reachable at {ADMIN_URL} ({type(err).__name__})")
        return
    lines = simulate(SimulationConfig(seed=7, customers=customers, workers=n_workers,
                                      months=months)).to_jsonl().splitlines()
    n = len(lines)
    print(f"stream: {n:,} events ({customers} customers, {n_workers} workers, {months} "
          f"months); {os.cpu_count()} CPUs; apply only, every run from an idle start")
    with tempfile.TemporaryDirectory() as tmp:
        base, base_cpu, reference = _sqlite(lines, Path(tmp))
        rows = [("SQLite, 1 process", base, base_cpu, reference, [n])]
        for workers in counts:
            with throwaway_database(admin, "syncline_bench") as url:
                elapsed, cpu, state, applied = _postgres(lines, url, workers, Path(tmp))
            rows.append((f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}",
                         elapsed, cpu, state, applied))
    admin.dispose()
    load = os.getloadavg()[0]
    print(f"{'':24}{'events/s':>10}{'vs SQLite':>11}{'CPU s':>8}  fingerprint{'':8}"
          "applied per worker")
    for label, elapsed, cpu, state, applied in rows:
        same = "reference" if state is reference else (
            "same" if state == reference else "DIFFERENT")
        print(f"{label:24}{n / elapsed:>10,.0f}{base / elapsed:>10.2f}x{cpu:>8.1f}  "
              f"{state[:12]} {same:9} {', '.join(f'{a:,}' for a in applied)}")
    print(f"(CPU s: this process for SQLite, the worker processes' own for PostgreSQL, their "
          f"start-up included, the server's not; load average at the end {load:.1f})")
    if any(state != reference for _, _, _, state, _ in rows):
        print("FINGERPRINTS DIFFER: the workers did not reproduce the single-process state")


if __name__ == "__main__":
    main()
