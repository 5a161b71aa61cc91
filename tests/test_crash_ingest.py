"""kill -9 at random points of `syncline ingest` — the first start of a new SQLite file
included — never leaves a database the next run cannot finish: a clean ingest of the same
file afterwards gives exactly the state (fingerprint) of an uninterrupted run.

The ingests run in processes of their own: this file is also the harness (run as a script),
which imports the command line once and forks one child per ingest, so a trial costs the
ingest, not Python's start-up; the parent kills the child with SIGKILL after a random delay
(measured from the fork). Half the first-start delays fall in the first 0.3 s, where the
schema is being created.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")

HERE = Path(__file__)


# --- the harness (python tests/test_crash_ingest.py PLAN.json) ------------------------------

def _ingest_child(stream: str, db: str, deliver: bool) -> None:  # pragma: no cover - child
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    from syncline.cli.main import app

    code = 0
    try:
        app(["ingest", stream, "--database-url", f"sqlite:///{db}", "-q",
             "--deliver" if deliver else "--no-deliver"], standalone_mode=False)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    except BaseException:
        code = 1
    os._exit(code)


def _run(stream: str, db: str, deliver: bool, kill_after: float | None) -> dict[str, Any]:
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        _ingest_child(stream, db, deliver)
    if kill_after is not None:
        deadline = started + kill_after
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return {"db": db, "killed": False, "rc": os.waitstatus_to_exitcode(status),
                        "seconds": time.monotonic() - started}
            time.sleep(0.001)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    return {"db": db, "killed": rc == -signal.SIGKILL, "rc": rc,
            "seconds": time.monotonic() - started}


def harness(plan: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - a subprocess
    """Reference run, then `fresh` first-start trials (a kill, then a clean run, each on a
    new file) and `sequential` kills on one file followed by one clean run."""
    import syncline.cli.main  # noqa: F401  (imported once, before forking)

    rng = random.Random(plan["seed"])
    stream, tmp, deliver = plan["stream"], Path(plan["dir"]), plan["deliver"]
    reference = _run(stream, str(tmp / "reference.db"), deliver, None)
    assert reference["rc"] == 0, reference
    work = reference["seconds"]
    runs: list[dict[str, Any]] = []
    for i in range(plan["fresh"]):
        db = str(tmp / f"fresh-{i}.db")
        delay = rng.uniform(0, min(0.3, work)) if i % 2 else rng.uniform(0, work)
        runs.append(_run(stream, db, deliver, delay) | {"delay": delay})
        runs.append(_run(stream, db, deliver, None) | {"final": True})
    db = str(tmp / "sequential.db")
    for _ in range(plan["sequential"]):
        delay = rng.uniform(0, work)
        runs.append(_run(stream, db, deliver, delay) | {"delay": delay})
    if plan["sequential"]:
        runs.append(_run(stream, db, deliver, None) | {"final": True})
    return {"reference": reference, "runs": runs}


# --- the tests ----------------------------------------------------------------------------------

def _fingerprint(db: Path) -> str:
    from syncline.adapters.db.engine import make_engine
    from syncline.services.state import fingerprint

    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return fingerprint(conn)
    finally:
        engine.dispose()


def _stream(tmp: Path, **size: int) -> Path:
    from syncline.simulator import SimulationConfig, simulate

    path = tmp / "stream.jsonl"
    path.write_text(simulate(SimulationConfig(seed=11, delivery_faults=True, **size))
                    .to_jsonl(), encoding="utf-8")
    return path


def _trials(tmp: Path, stream: Path, *, fresh: int, sequential: int, deliver: bool,
            seed: int, timeout: float) -> None:
    plan = {"seed": seed, "stream": str(stream), "dir": str(tmp), "deliver": deliver,
            "fresh": fresh, "sequential": sequential}
    (tmp / "plan.json").write_text(json.dumps(plan))
    done = subprocess.run([sys.executable, str(HERE), str(tmp / "plan.json")],
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    want = _fingerprint(tmp / "reference.db")
    finals = [r for r in result["runs"] if r.get("final")]
    assert len(finals) == fresh + (1 if sequential else 0)
    for run in finals:
        assert run["rc"] == 0, f"the clean run after a kill failed: {run}"
        assert _fingerprint(Path(run["db"])) == want, run
    killed = sum(1 for r in result["runs"] if r["killed"])
    assert killed >= (fresh + sequential) // 2, "too few runs were actually killed"


def test_kill_9_at_random_points_then_a_clean_ingest_gives_the_uninterrupted_state(
        tmp_path: Path) -> None:
    stream = _stream(tmp_path, customers=3, workers=8, months=2)
    _trials(tmp_path, stream, fresh=10, sequential=10, deliver=False,
            seed=int(os.environ.get("SYNCLINE_CRASH_SEED", "7")), timeout=120)


@pytest.mark.slow
def test_kill_9_many_trials_with_delivery(tmp_path: Path) -> None:
    """The long version: a bigger stream, delivery (DBOS) on, more trials when the slow
    Hypothesis profile is active (SYNCLINE_HYPOTHESIS=slow: 10x)."""
    from tests.conftest import examples

    stream = _stream(tmp_path, customers=6, workers=20, months=3)
    _trials(tmp_path, stream, fresh=examples(6), sequential=examples(4), deliver=True,
            seed=random.randrange(1 << 30), timeout=1800)


if __name__ == "__main__":  # the harness
    print(json.dumps(harness(json.loads(Path(sys.argv[1]).read_text()))))
