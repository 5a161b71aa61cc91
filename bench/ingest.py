"""File ingest benchmark: `syncline ingest`'s path end to end (stream the file, receive every
line raw into the inbox with its schema check, apply) against a bare baseline, in one run.

Set-up (not timed): a simulated firm's JSON-lines stream written to a file, and a fresh,
migrated SQLite database for each measurement.

Timed, over the same file:
- bare: read the lines in chunks of 2,000, `json.loads` each for its source, id and type,
  `executemany` them into a fresh SQLite table unique on (source, id), commit per chunk —
  what storing the stream costs with nothing else;
- receive only: the ingest's receive phase (`receive_many` per chunk of 2,000: parse,
  validate, duplicate check, arrival order, raw row and delivery receipt), into its own
  database;
- end to end: the command line's `ingest_lines` (receive, then apply in units of work), as
  `syncline ingest FILE --no-deliver` runs it, less start-up.
Goal (issue): end to end at least 0.5x the bare rate; worse than 1/8 is not done.

Each phase is timed in wall-clock seconds and in CPU seconds of this process
(`time.process_time`): on a shared, loaded machine the CPU figures are the ones to compare
between runs (the wall figures include waiting for the processor and the disk).

`SYNCLINE_BENCH_INGEST_SIZE=customers,workers,months` changes the stream (default 40,120,6,
about 13,000 events).
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from syncline.bootstrap import Syncline, bootstrap, settle_process
from syncline.cli.ingest import CHUNK, _chunks, _stream_lines, ingest_lines
from syncline.config import Settings
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.queues import queue_depths
from syncline.simulator import SimulationConfig, simulate

GOAL, FLOOR = 0.5, 1 / 8


Timing = tuple[float, float]  # (wall seconds, CPU seconds)


def _clock() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(started: Timing) -> Timing:
    wall, cpu = _clock()
    return wall - started[0], cpu - started[1]


def _bare(stream: Path, db: Path) -> Timing:
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE inbox (seq INTEGER PRIMARY KEY, source TEXT NOT NULL, "
                "event_id TEXT NOT NULL, type TEXT, raw TEXT NOT NULL, "
                "UNIQUE (source, event_id))")
    started = _clock()
    with stream.open(encoding="utf-8") as lines:
        for chunk in _chunks(lines, CHUNK):
            rows = []
            for line in chunk:
                message = json.loads(line)
                rows.append((message["source"], message["id"], message["type"], line))
            con.executemany("INSERT INTO inbox (source, event_id, type, raw) "
                            "VALUES (?, ?, ?, ?)", rows)
            con.commit()
    elapsed = _since(started)
    con.close()
    return elapsed


def _system(db: Path, **kw: Any) -> Syncline:
    system = bootstrap(Settings(database_url=f"sqlite:///{db}", **kw), durable=False)
    settle_process()  # as a command's process does once it is wired (cli/common.py)
    return system


def _receive_only(stream: Path, db: Path) -> Timing:
    system = _system(db)
    started = _clock()
    with stream.open("rb") as f:
        for chunk in _chunks(_stream_lines(f, [0]), CHUNK):
            with system.engine.begin() as conn:
                receive_many(conn, chunk, now=system.clock())
    elapsed = _since(started)
    system.engine.dispose()
    return elapsed


def _end_to_end(stream: Path, db: Path) -> tuple[Timing, dict[str, int]]:
    system = _system(db)
    started = _clock()
    with stream.open("rb") as f:
        ingest_lines(system, _stream_lines(f, [0]), Console(quiet=True), True)
    elapsed = _since(started)
    with system.engine.connect() as conn:
        inbox = queue_depths(conn)["inbox"]
    system.engine.dispose()
    return elapsed, inbox


def main() -> None:
    size = os.environ.get("SYNCLINE_BENCH_INGEST_SIZE", "40,120,6")
    customers, workers, months = (int(x) for x in size.split(","))
    cfg = SimulationConfig(seed=7, customers=customers, workers=workers, months=months)
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.jsonl"
        stream.write_text(simulate(cfg).to_jsonl(), encoding="utf-8")
        n = sum(1 for _ in stream.open(encoding="utf-8"))
        mib = stream.stat().st_size / 2**20
        print(f"stream: {n:,} events ({mib:.1f} MiB; {customers} customers, {workers} workers,"
              f" {months} months)")
        bare = _bare(stream, Path(tmp) / "bare.db")
        receive = _receive_only(stream, Path(tmp) / "receive.db")
        e2e, inbox = _end_to_end(stream, Path(tmp) / "ingest.db")
        bare_again = _bare(stream, Path(tmp) / "bare2.db")
    ratios: dict[str, float] = {}
    for label, at in (("wall", 0), ("CPU", 1)):
        b = (bare[at] + bare_again[at]) / 2  # measured before and after, against drift
        r, e = receive[at], e2e[at]
        print(f"[{label}] bare executemany (json.loads + insert, unique key, commit per "
              f"{CHUNK:,}): {n / b:,.0f} events/s")
        print(f"[{label}] receive only (parse, validate, duplicate check, raw row + receipt): "
              f"{n / r:,.0f} events/s = {b / r:.2f}x bare")
        print(f"[{label}] end to end (receive + apply; {inbox['applied']:,} applied, "
              f"{inbox['parked']:,} parked, {inbox['rejected']:,} rejected): {n / e:,.0f} "
              f"events/s; apply alone about {n / max(e - r, 1e-9):,.0f} events/s")
        ratio = ratios[label] = b / e
        print(f"[{label}] ratio end to end / bare: {ratio:.3f}x (1/{1 / ratio:.1f}); goal >= "
              f"{GOAL}x: {'met' if ratio >= GOAL else 'NOT met'}; floor 1/{1 / FLOOR:.0f}: "
              f"{'met' if ratio >= FLOOR else 'NOT met'}")

    worst = min(ratios.values())
    verdict = ("GOAL MET" if worst >= GOAL else "FLOOR MET, goal not met" if worst >= FLOOR
               else "NOT DONE (below the floor)")
    print(f"verdict: {verdict} — end to end / bare {ratios['wall']:.3f}x wall, "
          f"{ratios['CPU']:.3f}x CPU (floor {FLOOR:.3f}x, goal {GOAL}x, the worse of the two "
          "counts)")


if __name__ == "__main__":
    main()
