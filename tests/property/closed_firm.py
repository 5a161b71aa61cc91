"""A simulated firm (engine mode, three entities) with three months closed, locked and
carried: what the carried-books and carried-billable properties run on (`firm_db`, in this
folder's conftest, builds it once a module; `copy_of` hands each example its own copy)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.close import steps as close
from syncline.services.messaging.inbox import receive_many
from syncline.simulator import SimulationConfig, simulate
from tests.conftest import fixed_clock

LOCKED = ("2026-01", "2026-02", "2026-03")


def closed_firm(url: str) -> Syncline:
    """A simulated firm (engine mode, three entities) with its three months closed, locked
    and carried."""
    sim = simulate(SimulationConfig(seed=7, customers=6, workers=8, months=3))
    system = firm_at(url)
    with system.engine.begin() as conn:
        receive_many(conn, sim.to_jsonl().splitlines(), now=fixed_clock())
    system.process()
    for period in LOCKED:
        for _name, step in close.LEDGER_STEPS:
            step(system, period, None)
        close.close_and_lock(system, period, None, actor="test", lock=True)
    return system


def firm_at(url: str) -> Syncline:
    return bootstrap(Settings(database_url=url, revenue_recognition="engine"),
                     clock=fixed_clock, durable=False)


@contextmanager
def copy_of(firm_db: Path) -> Iterator[Syncline]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "f.db"
        shutil.copy(firm_db, db)
        system = firm_at(f"sqlite:///{db}")
        try:
            yield system
        finally:
            system.engine.dispose()
