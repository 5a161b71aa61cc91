"""Property: any interleaving of a simulated stream, with duplicates, gives the clean run's
state fingerprint and a balanced trial balance (DESIGN.md §5.6)."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import fingerprint, ledger_trial_balance
from syncline.simulator import SimulationConfig, simulate
from tests.conftest import examples, fixed_clock

STREAM = simulate(SimulationConfig(seed=3, customers=2, workers=3, months=2)).to_jsonl() \
    .splitlines()
_counter = itertools.count()


def _apply(lines: list[str], chunks: int = 1) -> tuple[str, bool]:
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'p.db'}"),
                           clock=fixed_clock, durable=False)
        size = max(1, len(lines) // chunks + 1)
        for start in range(0, len(lines), size):  # arrival in several deliveries
            with system.engine.begin() as conn:
                receive_many(conn, lines[start:start + size], now=fixed_clock())
            system.process()
        for period in ("2026-01", "2026-02"):
            run_billing(system.engine, period, system.ref, system.charts, fixed_clock())
        with system.engine.connect() as conn:
            result = fingerprint(conn), ledger_trial_balance(conn).balanced
        system.engine.dispose()
        return result


CLEAN = _apply(STREAM)


@pytest.mark.slow
@settings(max_examples=examples(12), suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(range(len(STREAM))),
    dupes=st.lists(st.integers(min_value=0, max_value=len(STREAM) - 1), max_size=40),
    chunks=st.integers(min_value=1, max_value=5),
)
def test_any_interleaving_with_duplicates_gives_the_clean_fingerprint(
    order: list[int], dupes: list[int], chunks: int
) -> None:
    lines = [STREAM[i] for i in order]
    for n, i in enumerate(dupes):
        lines.insert((n * 7919) % (len(lines) + 1), STREAM[i])
    fp, balanced = _apply(lines, chunks)
    assert balanced
    assert fp == CLEAN[0]
