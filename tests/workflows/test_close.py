"""The period close as a durable workflow: idempotent, and resumable after a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from syncline.adapters.db.billing_tables import fx_rates
from syncline.adapters.db.tables import invoices, journal_entries
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.close.steps import STEPS
from syncline.services.ledger.periods import status_of
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import fingerprint
from syncline.workflows import delivery
from syncline.workflows.close import close_steps, run_close
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

EVENTS = [deal(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06")]


def _system(db: Path):  # type: ignore[no-untyped-def]
    return bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock)


def test_closing_twice_changes_nothing_and_locks(tmp_path: Path) -> None:
    system = _system(tmp_path / "c.db")
    try:
        with system.engine.begin() as conn:
            receive_many(conn, EVENTS, now=fixed_clock())
        seen: list[str] = []
        first = run_close(system, "2026-01", actor="controller",
                          progress=lambda step, _: seen.append(step))
        assert seen == ["cut-off", "billing", "recognition", "accrual", "reclassification",
                        "intercompany", "fx-revaluation", "erp-journals", "reconciliation",
                        "lock"]
        assert tuple(seen) == STEPS
        assert first["billing"]["invoices"] == 1 and first["reconciliation"]["ok"]
        with system.engine.connect() as conn:
            before = fingerprint(conn)
            assert status_of(conn, "US01", "2026-01").value == "locked"
        again = run_close(system, "2026-01", actor="controller")
        assert again == first
        with system.engine.connect() as conn:
            assert fingerprint(conn) == before
        assert [s["step"].rsplit(".", 1)[-1] for s in close_steps(first["workflow_id"])] == [
            "cut_off_step", "billing_step", "recognition_step", "accrual_step",
            "reclassification_step", "intercompany_step", "fx_revaluation_step",
            "erp_journals_step", "reconciliation_step", "lock_step"]
    finally:
        delivery.shutdown()


def test_a_close_interrupted_by_a_crash_resumes_without_redoing_steps(tmp_path: Path
                                                                       ) -> None:
    db = tmp_path / "crash.db"
    system = _system(db)
    with system.engine.begin() as conn:
        receive_many(conn, EVENTS, now=fixed_clock())
    system.engine.dispose()
    script = textwrap.dedent(f"""
        from syncline.bootstrap import bootstrap
        from syncline.config import Settings
        from syncline.workflows import close
        system = bootstrap(Settings(database_url="sqlite:///{db}"))
        close._w.crash_after = "billing"
        close.run_close(system, "2026-01", actor="controller")
    """)
    crashed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=120, cwd=Path(__file__).parents[2])
    assert crashed.returncode == 70, crashed.stderr[-2000:]
    system = _system(db)
    try:
        with system.engine.connect() as conn:
            assert len(conn.execute(select(invoices)).all()) == 1  # billing ran before the crash
            assert status_of(conn, "US01", "2026-01").value == "open"
        done: list[str] = []
        result = run_close(system, "2026-01", actor="controller",
                           progress=lambda step, _: done.append(step))
        assert "billing" not in done and "cut-off" not in done  # recorded, not redone
        assert result["billing"]["invoices"] == 1
        with system.engine.connect() as conn:
            assert len(conn.execute(select(invoices)).all()) == 1
            assert status_of(conn, "US01", "2026-01").value == "locked"
    finally:
        delivery.shutdown()


def test_the_intercompany_and_revaluation_steps_are_recorded_and_resume_after_a_crash(
        tmp_path: Path) -> None:
    """A GB01 consultant on a US01 project: the close dies right after the intercompany step
    is recorded; the resumed close does not charge again and runs the FX revaluation."""
    db = tmp_path / "ic.db"
    system = _system(db)
    with system.engine.begin() as conn:
        receive_many(conn, [deal(), worker("W-2", entity="GB01", currency="GBP", cost="60.00"),
                            time_entry("T-1", worker_id="W-2")], now=fixed_clock())
        conn.execute(fx_rates.insert().values(base="GBP", quote="USD", as_of="2026-01-30",
                                              rate=Decimal("1.27"), source="ECB"))
    system.engine.dispose()
    script = textwrap.dedent(f"""
        from syncline.bootstrap import bootstrap
        from syncline.config import Settings
        from syncline.workflows import close
        system = bootstrap(Settings(database_url="sqlite:///{db}"))
        close._w.crash_after = "intercompany"
        close.run_close(system, "2026-01", actor="controller")
    """)
    crashed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=120, cwd=Path(__file__).parents[2])
    assert crashed.returncode == 70, crashed.stderr[-2000:]

    def charges() -> list[str]:
        with system.engine.connect() as conn:
            return sorted(conn.execute(select(journal_entries.c.source_id).where(
                journal_entries.c.source_type == "intercompany_charge")).scalars())

    system = _system(db)
    try:
        assert charges() == ["ic:GB01:US01:P-1:2026-01:GB01", "ic:GB01:US01:P-1:2026-01:US01"]
        done: list[str] = []
        result = run_close(system, "2026-01", actor="controller",
                           progress=lambda step, _: done.append(step))
        assert done == ["fx-revaluation", "erp-journals", "reconciliation", "lock"]  # the rest
        # was recorded
        assert result["intercompany"]["charges"] == 1
        assert result["intercompany"]["amounts"] == {"GB01->US01 GBP": "528.00"}  # 8 h x 66
        assert result["fx-revaluation"]["entries"] == 0  # no open foreign AR
        assert charges() == ["ic:GB01:US01:P-1:2026-01:GB01", "ic:GB01:US01:P-1:2026-01:US01"]
        assert result["reconciliation"]["ok"] and result["locked"]
        steps = [s["step"].rsplit(".", 1)[-1] for s in close_steps(result["workflow_id"])]
        assert steps[5:7] == ["intercompany_step", "fx_revaluation_step"]
    finally:
        delivery.shutdown()
