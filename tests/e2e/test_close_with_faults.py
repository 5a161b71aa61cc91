"""Close three months of the simulated firm with data faults: every reconciliation difference
is traced to its injected cause, and clean months lock. Cross-entity staffing is charged
intercompany at month-end rates, and the intercompany checks agree."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.ledger.periods import status_of
from syncline.services.messaging.inbox import receive_many
from syncline.simulator import SimulationConfig, end_of_stream, simulate
from syncline.workflows import delivery
from syncline.workflows.close import run_close
from tests.conftest import fixed_clock

CAUSE_OF = {  # injected fault kind -> the cause the reconciliation must name
    "unapproved_time": "time.not_approved",
    "unknown_project": "parked.project_missing",
    "terminated_worker_time": "time.after_termination",
}


def test_three_month_close_traces_each_difference_to_its_injected_fault(tmp_path: Path
                                                                         ) -> None:
    sim = simulate(SimulationConfig(seed=7, customers=12, workers=30, months=3,
                                    delivery_faults=True, data_faults=True))
    injected = {f.subject.split("/", 1)[1]: CAUSE_OF[f.kind] for f in sim.faults
                if f.kind in CAUSE_OF and f.subject}
    assert len(injected) >= 3
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'close.db'}"),
                       clock=fixed_clock)
    try:
        with system.engine.begin() as conn:
            receive_many(conn, sim.to_jsonl().splitlines(), now=fixed_clock())
        system.process()
        system.sweep(as_of=end_of_stream(sim) + timedelta(days=30))
        traced: dict[str, str] = {}
        charged = 0
        for period in ("2026-01", "2026-02", "2026-03"):
            result = run_close(system, period, actor="controller")
            report = result["reconciliation"]["report"]
            # cross-entity staffing is charged intercompany, receivable = payable per pair
            charged += result["intercompany"]["charges"]
            assert result["intercompany"]["exceptions"] == []
            checks = report["tables"][0]
            for row in checks["rows"]:
                if row[0] in ("intercompany receivable = payable",
                              "cross-entity time = intercompany charges",
                              "foreign balances revalued at closing rate"):
                    assert row[checks["columns"].index("status")] == "ok", row
            columns = report["tables"][1]["columns"]
            diffs = [dict(zip(columns, row, strict=True)) for row in report["tables"][1]["rows"]]
            for d in diffs:
                # each difference names an injected fault's entry and its expected cause
                assert d["object"] == "time_entry" and d["id"] in injected, d
                assert d["cause"] == injected[d["id"]], d
                assert d["detail"].startswith("exception exc_"), d
                traced[d["id"]] = d["cause"]
            with system.engine.connect() as conn:
                states = {status_of(conn, e.code, period).value for e in system.ref.entities}
            assert states == ({"locked"} if not diffs else {"closed"}), (period, states)
            assert result["locked"] == (not diffs)
        assert traced == injected  # every injected time fault shows up, once, with its cause
        assert charged > 0
    finally:
        delivery.shutdown()
