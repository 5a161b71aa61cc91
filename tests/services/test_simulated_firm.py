"""Acceptance of the walking skeleton on a simulated firm (issue: deal to invoice to ledger).

- delivery faults (duplicates, reordering, late arrival) leave the state fingerprint unchanged;
- every injected data fault ends as exactly one exception in its business domain, with
  remediation, and the rest of the stream is processed as in the clean run.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import summary
from syncline.simulator import SimulationConfig, end_of_stream, simulate
from tests.conftest import fixed_clock

# seed 3: a small firm where projects close (contracts ending by the month after the period),
# so the data faults include time booked after a project's close
SMALL = {"seed": 3, "customers": 4, "workers": 8, "months": 3}


def run(tmp: Path, name: str, **flags: bool) -> tuple[dict, list, object]:
    cfg = SimulationConfig(**SMALL, **flags)  # type: ignore[arg-type]
    sim = simulate(cfg)
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp / name}.db"), clock=fixed_clock,
                       durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, sim.to_jsonl().splitlines(), now=fixed_clock())
    system.process()
    system.sweep(as_of=end_of_stream(sim) + timedelta(days=30))
    for month in range(1, cfg.months + 1):
        run_billing(system.engine, f"2026-{month:02d}", system.ref, system.charts, fixed_clock())
    system.deliver()
    with system.engine.connect() as conn:
        return summary(conn), list_exceptions(conn, status=None), sim


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list, object]:
    return run(tmp_path_factory.mktemp("clean"), "clean")


def test_clean_run_has_no_exceptions_and_a_balanced_ledger(clean: tuple) -> None:
    s, excs, _ = clean
    assert excs == []
    assert s["trial_balance_balanced"] and s["invoices"] > 0 and s["journal_entries"] > 0
    assert s["events_applied"] == s["events_received"]


def test_delivery_faults_do_not_change_the_state(tmp_path: Path, clean: tuple) -> None:
    s, excs, _ = run(tmp_path, "delivery", delivery_faults=True)
    assert s["duplicates_ignored"] > 0 and s["released"] > 0
    assert excs == []
    assert s["state_fingerprint"] == clean[0]["state_fingerprint"]


def test_each_data_fault_is_exactly_one_exception_in_its_domain(tmp_path: Path,
                                                                clean: tuple) -> None:
    s, excs, sim = run(tmp_path, "data", data_faults=True)
    faults = sim.faults  # type: ignore[attr-defined]
    assert len(excs) == len(faults) > 0
    assert "time_on_closed_project" in {f.kind for f in faults}
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'data'}.db"),
                       clock=fixed_clock, durable=False)
    with system.engine.connect() as conn:
        event_of = {r.id: r.event_id for r in conn.execute(select(inbox.c.id, inbox.c.event_id))}
    by_event: dict[str, list] = {}
    for exc in excs:
        by_event.setdefault(event_of.get(exc.inbox_id, "?"), []).append(exc)
    not_json = [f for f in faults if f.event_id is None]  # lines that are not JSON at all
    assert len(not_json) == len([e for e in excs if "not valid JSON" in e.message])
    for fault in faults:
        if fault.event_id is None:
            continue
        matches = by_event.get(fault.event_id, [])
        assert len(matches) == 1, f"{fault.kind}: {len(matches)} exceptions"
        assert matches[0].domain == fault.domain, fault.kind
        assert matches[0].remediation
    # the rest of the stream is processed as in the clean run
    assert s["state_fingerprint"] == clean[0]["state_fingerprint"]


def test_both_fault_kinds_together(tmp_path: Path, clean: tuple) -> None:
    s, excs, sim = run(tmp_path, "both", delivery_faults=True, data_faults=True)
    assert len(excs) == len(sim.faults)  # type: ignore[attr-defined]
    assert s["state_fingerprint"] == clean[0]["state_fingerprint"]
    json.dumps(s)  # the summary is JSON-ready
