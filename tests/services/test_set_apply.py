"""Set-based apply decides exactly what the single path decides: a simulated stream with
delivery and data faults gives the same state fingerprint, the same status and reason for
every message, the same parked prerequisites and the same exceptions whether its runs of
time, expenses, rejections and workers go as sets, message by message, or as sets that fail
and fall back to one message at a time; and a run of milestones (sequenced per subject) as a
set decides what it decides one at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import exceptions, inbox, milestones, parked, subject_state
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from syncline.services.messaging import processor
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import fingerprint
from syncline.simulator import SimulationConfig, simulate
from tests.builders import deal, event
from tests.conftest import fixed_clock

STREAM = simulate(SimulationConfig(seed=11, customers=4, workers=10, months=2,
                                   data_faults=True, delivery_faults=True)).to_jsonl() \
    .splitlines()


def _run(tmp: Path) -> dict[str, Any]:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp / 'p.db'}"), clock=fixed_clock,
                       durable=False)
    for start in range(0, len(STREAM), 700):  # several deliveries, several batches
        with system.engine.begin() as conn:
            receive_many(conn, STREAM[start:start + 700], now=fixed_clock())
        system.process()
    for period in ("2026-01", "2026-02"):
        run_billing(system.engine, period, system.ref, system.charts, fixed_clock())
    with system.engine.connect() as conn:
        result = {
            "fingerprint": fingerprint(conn),
            "inbox": sorted(conn.execute(select(inbox.c.source, inbox.c.event_id,
                                                inbox.c.status, inbox.c.reason)).all()),
            "parked": sorted(conn.execute(
                select(inbox.c.event_id, parked.c.prerequisite, parked.c.reason,
                       parked.c.released_at.is_(None))
                .join(inbox, inbox.c.id == parked.c.inbox_id)).all()),
            "exceptions": sorted(conn.execute(
                select(inbox.c.event_id, exceptions.c.code, exceptions.c.message,
                       exceptions.c.status)
                .join(inbox, inbox.c.id == exceptions.c.inbox_id)).all()),
        }
    system.engine.dispose()
    return result


@pytest.fixture(scope="module")
def as_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run(tmp_path_factory.mktemp("sets"))


def _sets_used(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    used: list[str] = []
    original = processor.runs.apply_set

    def spy(batch: Any, rows: list[Any], now: Any, stats: Any) -> None:
        if len(rows) > 1:
            used.append(rows[0].type)
        original(batch, rows, now, stats)

    monkeypatch.setattr(processor.runs, "apply_set", spy)
    return used


def test_the_stream_has_faults_and_every_set_type() -> None:
    text = "\n".join(STREAM)
    for kind in set(processor.table.SET_HANDLERS) - {"milestone.completed"}:  # (below, its own)
        assert f'"type":"{kind}"' in text.replace(" ", ""), kind


def test_sets_and_single_messages_give_the_same_state(
        as_sets: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processor.table, "SET_HANDLERS", {})
    single = _run(tmp_path)
    assert {s for *_, s, _ in single["inbox"]} >= {"applied", "parked", "failed"}
    assert single["exceptions"]
    assert as_sets == single


def test_every_set_type_goes_as_a_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      as_sets: dict[str, Any]) -> None:
    used = _sets_used(monkeypatch)
    assert _run(tmp_path) == as_sets
    # expense rejections are rare and scattered: in this stream none follows another
    assert set(used) >= {"time.approved", "expense.approved", "time.rejected",
                         "worker.upserted"}


def test_a_set_that_fails_falls_back_to_the_same_state(
        as_sets: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(handler: Any) -> Any:
        def apply(batch: Any, messages: list[Any]) -> list[Any]:
            for inbox_id, data in messages:  # writes, then fails: the set is rolled back
                batch.inbox_id = inbox_id
                handler(batch, data)
            raise RuntimeError("a defect in the set path")
        return apply

    tables = {kind: (handler, broken(handler))
              for kind, (handler, _) in processor.table.SET_HANDLERS.items()}
    monkeypatch.setattr(processor.table, "SET_HANDLERS", tables)
    assert _run(tmp_path) == as_sets


def _milestone(mid: str, seq: int, accepted_by: str, *, docs: tuple[str, ...] = (),
               project: str = "P-2", id_: str | None = None) -> dict[str, Any]:
    return event("milestone.completed", f"milestone/{mid}", {
        "milestone_id": mid, "project_code": project, "completed_on": "2026-01-20",
        "evidence": {"accepted_by": accepted_by, "documents": [
            {"document_id": d, "name": f"{d}.pdf"} for d in docs]}}, sequence=seq, id_=id_,
        source="psa/kantata")


# A run of milestone messages with everything the per-subject order decides: a newer version
# with other evidence, an older one (stale), a re-send of the same message, an unknown
# milestone (fails), a milestone of a project not provisioned (parks).
MILESTONES = [
    deal("D-2", number="C-2", project="P-2", billing_type="fixed_fee", amount="10000",
         milestones=[{"milestone_id": "M-1", "name": "Design signed", "amount": "4000"},
                     {"milestone_id": "M-2", "name": "Go-live", "amount": "6000"}]),
    _milestone("M-1", 2, "CFO", docs=("sign-off",), id_="m1-v2"),
    _milestone("M-1", 1, "PM"),  # older than the version applied: stale
    _milestone("M-2", 1, "CTO", id_="m2-v1"),
    _milestone("M-2", 1, "CTO", id_="m2-v1"),  # the same message again: a duplicate
    _milestone("M-9", 1, "CFO"),  # not on the contract: fails
    _milestone("M-1", 3, "CFO", docs=("sign-off", "minutes")),  # newer evidence replaces
    _milestone("M-5", 1, "CFO", project="P-404"),  # no such project yet: parks
    _milestone("M-1", 2, "CFO", docs=("sign-off",)),  # a late copy of version 2: stale
]


def _milestone_run(tmp: Path) -> tuple[dict[str, Any], list[str]]:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp / 'm.db'}"), clock=fixed_clock,
                       durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, MILESTONES, now=fixed_clock())
    with pytest.MonkeyPatch.context() as patch:
        used = _sets_used(patch)
        system.process()
    run_billing(system.engine, "2026-01", system.ref, system.charts, fixed_clock())
    with system.engine.connect() as conn:
        result = {
            "fingerprint": fingerprint(conn),
            "inbox": conn.execute(select(inbox.c.event_id, inbox.c.status, inbox.c.reason)
                                  .order_by(inbox.c.seq)).all(),
            "milestones": conn.execute(select(milestones.c.milestone_id,
                                              milestones.c.completed_on,
                                              milestones.c.evidence)
                                       .order_by(milestones.c.milestone_id)).all(),
            "subjects": conn.execute(select(subject_state.c.subject,
                                            subject_state.c.last_sequence)
                                     .order_by(subject_state.c.subject)).all(),
        }
    system.engine.dispose()
    return result, used


def test_milestones_go_as_a_set_and_decide_what_one_at_a_time_decides(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    as_set, used = _milestone_run(tmp_path / "set")
    assert "milestone.completed" in used
    statuses = [status for _, status, _ in as_set["inbox"]]
    assert statuses == ["applied", "applied", "stale", "applied", "failed", "applied",
                        "parked", "stale"]
    evidence = dict((m, e) for m, _, e in as_set["milestones"])
    assert '"minutes.pdf"' in evidence["M-1"] and '"accepted_by": "CTO"' in evidence["M-2"]
    assert ("milestone/M-1", 3) in as_set["subjects"]
    monkeypatch.setattr(processor.table, "SET_HANDLERS", {})
    one_by_one, used = _milestone_run(tmp_path / "single")
    assert "milestone.completed" not in used
    assert as_set == one_by_one
