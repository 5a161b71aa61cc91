"""Property: time rejections applied as a set (`handlers/time_rejections.reverse_time_set`)
decide what applying them one message at a time (`time.reverse_time`) decides, on generated
streams of rejections — of invoiced time (split by a cap or not), open time, time already
reversed at a termination (its exception open), time refused on arrival (its exception open),
time never approved (parked, released when its approval arrives later in the stream) — in any
order, with repeats and re-sent duplicates: the same state fingerprint, the same status and
reason for every message, the same parks, exceptions and their resolutions, the same credit
requests, item and entry statuses and PSA words."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from syncline.adapters.db.billing_tables import credit_requests
from syncline.adapters.db.close_tables import psa_time_words
from syncline.adapters.db.tables import (
    billable_items,
    exception_actions,
    exceptions,
    inbox,
    parked,
    time_entries,
)
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from syncline.services.handlers import time_rejections
from syncline.services.messaging import processor
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import fingerprint
from tests.builders import deal, event, time_entry, worker
from tests.conftest import examples, fixed_clock


def _capped(deal_id: str, number: str, project: str) -> dict[str, Any]:
    d = deal(deal_id, number=number, project=project)
    d["data"]["billing_terms"] = {"caps": [
        {"cap_id": f"NTE-{number}", "limit": "3000", "kind": "hard"}]}
    return d


def _terminated(worker_id: str, day: str) -> dict[str, Any]:
    return event("worker.terminated", f"worker/{worker_id}",
                 {"worker_id": worker_id, "termination_date": day},
                 source="hris/workday", sequence=3)


# January billed (P-1 over its hard cap: split parts with an origin), February open, W-2's
# time after its termination reversed (T-9) or refused on arrival (T-11), each with an
# exception open on its approval; T-98 and T-99 are approved only in the generated streams.
FIRM = [
    _capped("D-1", "C-1", "P-1"), deal("D-2", number="C-2", project="P-2"),
    worker("W-1"), worker("W-2"),
    time_entry("T-1", day="2026-01-05", hours="8"), time_entry("T-2", day="2026-01-06"),
    time_entry("T-3", day="2026-01-07", hours="4.5"),
    time_entry("T-4", project="P-2", day="2026-01-05"),
    time_entry("T-5", project="P-2", day="2026-01-06", worker_id="W-2"),
    time_entry("T-6", project="P-1", day="2026-01-08", worker_id="W-2"),
]
FEBRUARY = [
    time_entry("T-7", day="2026-02-02"), time_entry("T-8", project="P-2", day="2026-02-03"),
    time_entry("T-9", project="P-2", day="2026-02-16", worker_id="W-2"),
    time_entry("T-10", day="2026-02-04", hours="2.25"),
    _terminated("W-2", "2026-02-10"),
    time_entry("T-11", project="P-2", day="2026-02-20", worker_id="W-2"),
]
ENTRIES = [f"T-{i}" for i in range(1, 12)] + ["T-98", "T-99"]
REASONS = ["wrong project", "duplicate", ""]


def _firm(url: str) -> Syncline:
    return bootstrap(Settings(database_url=url), clock=fixed_clock, durable=False)


@pytest.fixture(scope="module")
def firm_db() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "firm.db"
        system = _firm(f"sqlite:///{db}")
        with system.engine.begin() as conn:
            receive_many(conn, FIRM, now=fixed_clock())
        system.process()
        run_billing(system.engine, "2026-01", system.ref, system.charts, fixed_clock())
        with system.engine.begin() as conn:
            receive_many(conn, FEBRUARY, now=fixed_clock())
        system.process()
        with system.engine.connect() as conn:  # the firm has what the stream should meet
            items = dict(conn.execute(select(billable_items.c.key,
                                                billable_items.c.status)).all())
            assert items["time:T-1"] == "invoiced" and "time:T-2#over" in items
            assert items["time:T-7"] == "generated" and items["time:T-9"] == "reversed"
            assert conn.execute(select(inbox.c.status).where(
                inbox.c.subject == "time/T-11")).scalar() == "failed"
            assert len(conn.execute(select(exceptions.c.id).where(
                exceptions.c.status == "open")).all()) >= 2
        system.engine.dispose()
        yield db


def _rejection(entry: str, reason: str) -> dict[str, Any]:
    return event("time.rejected", f"time/{entry}", {"time_entry_id": entry, "reason": reason},
                 source="psa/kantata", sequence=2, time="2026-02-25T10:00:00Z")


def _message(kind: str, entry: str, reason: str) -> dict[str, Any]:
    if kind == "approve":
        return time_entry(entry, project="P-2", day="2026-02-24")
    return _rejection(entry, reason)


messages = st.lists(st.tuples(
    st.sampled_from(["reject"] * 5 + ["approve"]), st.sampled_from(ENTRIES),
    st.sampled_from(REASONS)), min_size=1, max_size=14)


def _state(system: Syncline) -> dict[str, Any]:
    with system.engine.connect() as conn:
        return {
            "fingerprint": fingerprint(conn),
            "inbox": conn.execute(select(inbox.c.event_id, inbox.c.status, inbox.c.reason)
                                  .order_by(inbox.c.seq)).all(),
            "parked": sorted(conn.execute(
                select(inbox.c.event_id, parked.c.prerequisite, parked.c.reason,
                       parked.c.released_at.is_(None))
                .join(inbox, inbox.c.id == parked.c.inbox_id)).all()),
            "exceptions": sorted(conn.execute(
                select(inbox.c.event_id, exceptions.c.code, exceptions.c.status,
                       exceptions.c.resolution)
                .join(inbox, inbox.c.id == exceptions.c.inbox_id)).all()),
            "actions": sorted(conn.execute(
                select(exceptions.c.code, exception_actions.c.action, exception_actions.c.actor,
                       exception_actions.c.reason)
                .join(exceptions, exceptions.c.id == exception_actions.c.exception_id)).all()),
            "credits": sorted(conn.execute(
                select(credit_requests.c.request_key, credit_requests.c.invoice_number,
                       credit_requests.c.item_keys, credit_requests.c.reason,
                       credit_requests.c.revision, credit_requests.c.status, inbox.c.event_id)
                .outerjoin(inbox, inbox.c.id == credit_requests.c.inbox_id)).all()),
            "items": sorted(conn.execute(select(billable_items.c.key,
                                                billable_items.c.status)).all()),
            "entries": sorted(conn.execute(select(time_entries.c.time_entry_id,
                                                  time_entries.c.status)).all()),
            "words": sorted(conn.execute(
                select(inbox.c.event_id, psa_time_words.c.time_entry_id, psa_time_words.c.kind)
                .join(inbox, inbox.c.id == psa_time_words.c.inbox_id)).all()),
        }


def _applied(firm_db: Path, stream: list[dict[str, Any]], sets: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        if not sets:  # one message at a time, each on its own
            patch.setattr(processor.table, "SET_HANDLERS", {
                k: v for k, v in processor.table.SET_HANDLERS.items() if k != "time.rejected"})
        db = Path(tmp) / "f.db"
        shutil.copy(firm_db, db)
        system = _firm(f"sqlite:///{db}")
        with system.engine.begin() as conn:  # one delivery, one batch: runs go as sets
            receive_many(conn, stream, now=fixed_clock())
        system.process()
        state = _state(system)
        system.engine.dispose()
        return state


@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(messages, st.lists(st.integers(min_value=0, max_value=20), max_size=3))
def test_a_set_of_rejections_decides_what_one_at_a_time_decides(
        firm_db: Path, drawn: list[tuple[str, str, str]], resent: list[int]) -> None:
    stream = [_message(*m) for m in drawn]
    for i in resent:  # a message delivered again (the same event id): a duplicate
        stream.insert(i % (len(stream) + 1), stream[i % len(stream)])
    assert _applied(firm_db, stream, sets=True) == _applied(firm_db, stream, sets=False)


def test_a_stream_meeting_every_case_goes_as_sets(
        firm_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The property's cases all occur in one set, and the set path is the one taken."""
    sizes: list[int] = []
    original = time_rejections.reverse_time_set

    def spy(b: Any, messages: list[Any]) -> Any:
        sizes.append(len(messages))
        return original(b, messages)

    stream = [_rejection(e, r) for e, r in (
        ("T-1", "wrong project"), ("T-2", ""), ("T-7", "duplicate"), ("T-7", "again"),
        ("T-9", "late"), ("T-11", "late"), ("T-11", "late again"), ("T-99", ""),
        ("T-4", "x"))] + [time_entry("T-99", project="P-2", day="2026-02-24")]
    monkeypatch.setitem(processor.table.SET_HANDLERS, "time.rejected",
                        (processor.table.SET_HANDLERS["time.rejected"][0], spy))
    as_set = _applied(Path(str(firm_db)), stream, sets=True)
    assert sizes and sizes[0] == 9
    monkeypatch.undo()
    assert as_set == _applied(firm_db, stream, sets=False)
    reasons = [(status, reason) for _, status, reason in as_set["inbox"][-10:]]
    assert reasons[0] == ("applied", "credit requested on " + reasons[0][1].split(" on ")[1])
    assert reasons[1][1].startswith("credit requested on ")  # split by the cap: its parts
    assert reasons[2:4] == [("applied", None), ("applied", "already reversed")]
    assert reasons[4] == ("applied", "already reversed")
    assert reasons[5][1].startswith("withdrawn by the PSA; refused on arrival, resolved ")
    assert reasons[6] == ("applied", "withdrawn by the PSA; refused on arrival")
    assert reasons[7][0] == "applied"  # parked on time:T-99, released by its approval
    assert [r for r in as_set["parked"] if r[1] == "time:T-99"]
    assert {c[0] for c in as_set["credits"]} >= {"reverse:time:T-1:" + reasons[0][1][20:]}
