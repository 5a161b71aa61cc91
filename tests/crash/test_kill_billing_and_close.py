"""kill -9 in the middle of a billing run and of a close (issue 10): each killed command,
run again to the end, leaves exactly the state (fingerprint) of a run never interrupted.

A billing run is one transaction (a kill rolls all of it back); the close is a DBOS workflow
whose steps are each a transaction and recorded (a kill resumes after the last recorded
step). The kills land at random points of the command (seeded, so a failure reproduces):
between 0.2 s and the uninterrupted duration, after Python has started.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import fingerprint
from syncline.simulator import SimulationConfig, end_of_stream, simulate
from tests.conftest import fixed_clock

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not hasattr(os, "kill"), reason="needs POSIX signals")]
CONFIG = SimulationConfig(seed=7, customers=6, workers=10, months=2)


def _seeded(db: Path) -> None:
    from datetime import timedelta

    sim = simulate(CONFIG)
    system = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                       durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, sim.to_jsonl().splitlines(), now=fixed_clock())
    system.process()
    system.sweep(as_of=end_of_stream(sim) + timedelta(hours=72))
    system.engine.dispose()


def _command(db: Path, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "syncline", *args, "--database-url", f"sqlite:///{db}"]


def _run(db: Path, args: list[str], kill_after: float | None = None) -> tuple[bool, float]:
    env = {**os.environ, "SYNCLINE_CLI_ROLES": "finance,controller,billing,admin"}
    started = time.monotonic()
    proc = subprocess.Popen(_command(db, args), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    if kill_after is None:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        return False, time.monotonic() - started
    try:
        proc.wait(timeout=kill_after)
        return False, time.monotonic() - started  # finished before the kill
    except subprocess.TimeoutExpired:
        proc.kill()  # SIGKILL
        proc.wait()
        return True, time.monotonic() - started


def _state(db: Path) -> str:
    system = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                       durable=False)
    with system.engine.connect() as conn:
        out = fingerprint(conn)
    system.engine.dispose()
    return out


@pytest.mark.parametrize("args", [["billing", "run", "--period", "2026-01"],
                                  ["close", "--period", "2026-01"]],
                         ids=["billing-run", "close"])
def test_killed_then_rerun_equals_uninterrupted(tmp_path: Path, args: list[str]) -> None:
    base = tmp_path / "base.db"
    _seeded(base)
    clean, killed = tmp_path / "clean.db", tmp_path / "killed.db"
    shutil.copy(base, clean)
    shutil.copy(base, killed)
    _, duration = _run(clean, args)
    twice = tmp_path / "twice.db"
    shutil.copy(base, twice)
    duration = min(duration, _run(twice, args)[1])  # the machine may be busy: the faster
    want = _state(clean)
    assert _state(twice) == want
    assert want != _state(base), "the command changed nothing: nothing to interrupt"
    rng = random.Random(20261130)
    kills = 0
    for _ in range(4):
        # after Python's start-up (a third to half of the duration), where the command works
        was_killed, _ = _run(killed, args, kill_after=rng.uniform(0.4, 0.9) * duration)
        kills += was_killed
    _run(killed, args)
    assert _state(killed) == want
    assert kills >= 1, "no run was killed: the kill points all fell after the command ended"
