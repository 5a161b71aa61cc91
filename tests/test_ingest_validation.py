"""Schema validation on ingest: the fast path (jsonschema-rs, compiled once) decides exactly
what the reference validator (python-jsonschema's iter_errors) decides, and an invalid
message gets exactly the reference's problems (field path + rule); `time` must be an RFC 3339
date-time."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import Syncline
from syncline.schemas import (
    EVENT_TYPES_V1,
    SchemaProblem,
    explain_event,
    is_date,
    is_date_time,
    is_valid_event,
    validate_event,
)
from syncline.services.messaging.inbox import receive_many
from syncline.simulator import SimulationConfig, simulate
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock


@cache
def _samples() -> tuple[dict[str, Any], ...]:
    """Valid messages of every event type (the simulator's, plus the builders')."""
    sim = simulate(SimulationConfig(seed=7, customers=12, workers=30, months=6))
    by_type: dict[str, dict[str, Any]] = {}
    for line in sim.to_jsonl().splitlines():
        message = json.loads(line)
        by_type.setdefault(message["type"], message)
    found = [*by_type.values(), deal(), worker(), time_entry("T-1")]
    assert all(validate_event(m) == [] for m in found)
    return tuple(found)


def test_the_samples_cover_the_main_event_types() -> None:
    types = {m["type"] for m in _samples()}
    assert len(types) >= 10 and types <= set(EVENT_TYPES_V1)


# --- date-time ---------------------------------------------------------------------------------

def test_time_that_is_not_an_rfc3339_date_time_is_refused_with_the_field_named() -> None:
    message = time_entry("T-1")
    message["time"] = "yesterday"
    assert validate_event(message) == [
        SchemaProblem("time", "format", "'yesterday' is not a 'date-time'")]
    for good in ("2026-01-05T10:00:00Z", "2026-01-05t10:00:00.123456z",
                 "2026-01-05T10:00:00+05:30", "2026-01-05T10:00:00-00:00"):
        assert validate_event(message | {"time": good}) == [], good
    for bad in ("2026-01-05", "2026-01-05 10:00:00Z", "2026-01-05T10:00:00",
                "2026-02-30T10:00:00Z", "2026-01-05T25:00:00Z", "2026-01-05T10:00:00+0530"):
        assert [p.rule for p in validate_event(message | {"time": bad})] == ["format"], bad


def test_a_message_with_a_bad_time_is_kept_rejected(system: Syncline) -> None:
    message = time_entry("T-1")
    message["time"] = "yesterday"
    with system.engine.begin() as conn:
        [receipt] = receive_many(conn, [message], now=fixed_clock())
    assert receipt.status == "rejected"
    assert receipt.problems[0].path == "time"
    with system.engine.connect() as conn:
        assert conn.execute(select(inbox.c.status, inbox.c.reason)).one() == (
            "rejected", "time: 'yesterday' is not a 'date-time' (format)")


@cache
def _rs_date_time() -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator({"type": "string", "format": "date-time"},
                                              validate_formats=True)


EDGES = ["1998-12-31T23:59:60Z", "1998-12-31T22:59:60Z", "1998-12-31T15:59:60.123-08:00",
         "2026-01-01T00:59:60+01:00", "2026-01-01T00:59:60-01:00", "2024-02-29T10:00:00Z",
         "2026-02-29T10:00:00Z", "0000-01-01T00:00:00Z", "2026-01-01T10:00:00.Z",
         "2026-01-01T10:00Z", "2026-01-01T10:00:00+24:00", "2026-01-01T10:00:00+23:60",
         "2026-01-01T10:00:00Z\n", "12026-01-01T10:00:00Z", "२०26-01-01T10:00:00Z", ""]


@pytest.mark.parametrize("value", EDGES)
def test_date_time_check_agrees_with_the_fast_validator_on_edge_cases(value: str) -> None:
    assert is_date_time(value) == _rs_date_time().is_valid(value)


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


DATE_TIMES = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, off: f"{y:04d}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}",
    st.integers(0, 9999), _two(0, 13), _two(0, 32), st.sampled_from("Tt _"), _two(0, 24),
    _two(0, 60), _two(0, 61), st.sampled_from(["", ".5", ".123456789", "."]),
    st.one_of(st.sampled_from(["Z", "z", "", "+00:00", "-00:00"]),
              st.builds(lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"),
                        _two(0, 24), _two(0, 60))))


@given(DATE_TIMES)
@example("2026-06-30T23:59:60Z")
def test_date_time_check_agrees_with_the_fast_validator(value: str) -> None:
    assert is_date_time(value) == _rs_date_time().is_valid(value)


DATES = st.builds(lambda y, mo, d: f"{y:04d}-{mo}-{d}", st.integers(0, 9999), _two(0, 13),
                  _two(0, 32))


@given(DATES)
@example("0000-01-01")
@example("0000-02-29")
@example("2000-02-29")
@example("1900-02-29")
@example("2026-01-05\n")
@example("२०26-01-05")
def test_the_fast_date_decides_as_the_reference(value: str) -> None:
    """jsonschema-rs's own full-date (the year 0000 refused apart) in the one fast call a
    message, and `is_date` in the reference: a message with that work date is valid for
    both or for neither."""
    message = time_entry("T-1")
    message["data"]["work_date"] = value
    assert is_valid_event(message) == (explain_event(message) == []) == is_date(value)


# --- the fast path gives the reference's answer and problems ----------------------------------

INVALID: list[Any] = [
    [], "not an object", {}, {"specversion": "1.0"},
    time_entry("T-1") | {"specversion": "0.3"},
    time_entry("T-1") | {"type": "time.unknown"},
    time_entry("T-1") | {"sequence": -1},
    time_entry("T-1") | {"sequence": "12a"},
    time_entry("T-1") | {"data": []},
    time_entry("T-1") | {"id": ""},
    time_entry("T-1", hours="seven"),
    {k: v for k, v in time_entry("T-1").items() if k != "subject"},
    deal() | {"data": {**deal()["data"], "currency": "usd", "contract": {}}},
    worker() | {"data": {**worker()["data"], "worker_id": 7}},
]


@pytest.mark.parametrize("message", INVALID, ids=range(len(INVALID)))
def test_invalid_messages_get_the_reference_problems(message: Any) -> None:
    problems = validate_event(message)
    assert problems
    assert problems == explain_event(message)
    assert not is_valid_event(message)


def test_the_problems_still_name_the_path_and_the_rule() -> None:
    assert [(p.path, p.rule) for p in validate_event(time_entry("T-1", hours="seven"))] == [
        ("data.hours", "pattern")]
    bad = deal()
    del bad["data"]["contract"]["number"]
    assert [(p.path, p.rule) for p in validate_event(bad)] == [
        ("data.contract.number", "required")]


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _paths(value, (*prefix, i))
    return out


ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**20), st.floats(allow_nan=False),
    st.sampled_from(["", "yesterday", "2026-13-01", "2026-02-29", "0000-01-01", "1.5", "-1",
                     "12a", "USD", "usd", "2026-01-05T10:00:00Z", "2026-01-05T10:00:00",
                     "x" * 250, "approved", "1\n"]),
    st.text(max_size=8), st.lists(st.integers(), max_size=2), st.just({}),
    st.just({"amount": "1.00", "currency": "EUR"}))


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    message = copy.deepcopy(draw(st.sampled_from(_samples())))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(message)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        *parent_path, last = path
        parent: Any = message
        for step in parent_path:
            parent = parent[step]
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "delete":
            del parent[last]
        elif action == "replace":
            parent[last] = copy.deepcopy(draw(ODD_VALUES))
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "notes", "zz"]))] = copy.deepcopy(
                draw(ODD_VALUES))
    return message


@given(mutated())
def test_fast_path_decides_and_words_exactly_as_the_reference(message: dict[str, Any]) -> None:
    reference = explain_event(message)
    assert validate_event(message) == reference
    if is_valid_event(message):  # what the fast path accepts, the reference accepts
        assert reference == []


def test_where_the_fast_validator_is_stricter_the_reference_wins() -> None:
    """Python's `$` also matches before a final newline, Rust's does not: "1\n" fits the
    decimal pattern for python-jsonschema only. The fast path refuses, the reference is
    asked, and its answer (valid, as it always was) stands."""
    message = time_entry("T-1", hours="7\n")
    assert not is_valid_event(message)
    assert explain_event(message) == validate_event(message) == []
