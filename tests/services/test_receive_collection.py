"""Receiving a batch (services/messaging/inbox.py): no automatic garbage collection while it
is parsed or stored (`services/uncollected.py`: the batch's objects are freed by reference counting
once it is stored, and the collector is left as it was found), and a batch holding keys
already stored is received as the look-up before writing would have it (`_store`)."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from syncline.adapters.db.tables import inbox, inbox_receipts
from syncline.bootstrap import Syncline
from syncline.services.messaging.inbox import prepare, receive_many
from tests.builders import time_entry
from tests.conftest import fixed_clock

RECEIVING = {"parse", "_store"}  # parsing.py's one message parsed, inbox.py's batch stored


@pytest.fixture
def collections() -> Iterator[list[str]]:
    """The receiving functions under way whenever a collection ran while the test did, with
    a collection due every 10 allocations (so a batch of messages would see many)."""
    seen: list[str] = []

    def noted(phase: str, info: dict[str, Any]) -> None:
        frame = sys._getframe(1)
        while phase == "start" and frame is not None:
            if frame.f_code.co_name in RECEIVING:
                seen.append(frame.f_code.co_name)
            frame = frame.f_back

    threshold = gc.get_threshold()
    gc.set_threshold(10, 2, 2)
    gc.callbacks.append(noted)
    try:
        yield seen
    finally:
        gc.callbacks.remove(noted)
        gc.set_threshold(*threshold)


def _texts(n: int) -> list[str]:
    return [json.dumps(time_entry(f"T-{i}")) for i in range(n)]


def test_no_collection_while_a_batch_is_parsed_or_stored(
        system: Syncline, collections: list[str]) -> None:
    texts = _texts(300)
    with system.engine.begin() as conn:
        prepared = prepare(texts)
        receipts = receive_many(conn, texts[:150], now=fixed_clock())
    assert len(prepared.parsed) == 300 and {r.status for r in receipts} == {"accepted"}
    assert collections == []
    assert gc.isenabled()


def test_the_collector_is_left_as_it_was_found(system: Syncline) -> None:
    gc.disable()
    try:
        prepare(_texts(5))
        with system.engine.begin() as conn:
            receive_many(conn, _texts(5), now=fixed_clock())
        assert not gc.isenabled()
    finally:
        gc.enable()
    prepare(_texts(5))
    assert gc.isenabled()


def test_a_batch_with_keys_already_stored_is_received_as_one_without(system: Syncline) -> None:
    """A batch is first written without looking its keys up (`_store`); when one is already
    stored the unique key refuses it, the attempt is rolled back and the batch is stored
    after the look-up: duplicates, a corrected re-send of a rejected message and new ones,
    arrival positions in order, every row once."""
    first = _texts(3)
    bad = time_entry("T-bad", hours="seven")
    with system.engine.begin() as conn:
        receipts = receive_many(conn, [*first, json.dumps(bad)], now=fixed_clock())
    assert [r.status for r in receipts] == ["accepted"] * 3 + ["rejected"]
    corrected = json.dumps(bad | {"data": {**bad["data"], "hours": "7"}})
    new = [json.dumps(time_entry(f"N-{i}")) for i in range(3)]
    batch = [new[0], first[1], corrected, new[1], new[1], first[0], new[2]]
    with system.engine.begin() as conn:
        receipts = receive_many(conn, batch, now=fixed_clock())
    assert [r.status for r in receipts] == [
        "accepted", "duplicate", "accepted", "accepted", "duplicate", "duplicate", "accepted"]
    assert receipts[1].inbox_id != receipts[0].inbox_id
    assert receipts[4].inbox_id == receipts[3].inbox_id
    with system.engine.connect() as conn:
        stored = conn.execute(select(inbox.c.seq, inbox.c.event_id, inbox.c.status)
                              .order_by(inbox.c.seq)).all()
        deliveries = conn.execute(select(func.count()).select_from(inbox_receipts)).scalar()
    ids = [json.loads(t)["id"] for t in first] + [bad["id"]] + [
        json.loads(t)["id"] for t in new]
    assert [s for s, _, _ in stored] == [1, 2, 3, 5, 6, 7, 8]  # 4: the rejected text's
    assert sorted(e for _, e, _ in stored) == sorted(ids)
    by_id = {e: (seq, status) for seq, e, status in stored}
    assert by_id[bad["id"]] == (6, "received")  # revised: received again, a new position
    assert [by_id[json.loads(t)["id"]][0] for t in new] == [5, 7, 8]
    assert deliveries == 4 + len(batch)
