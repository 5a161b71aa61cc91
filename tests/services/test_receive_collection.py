"""Receiving a batch runs no automatic garbage collection (services/messaging/inbox.py,
`_uncollected`): the batch's objects are freed by reference counting once it is stored, and
the collector is left as it was found."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

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
