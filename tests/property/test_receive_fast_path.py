"""Receiving's fast path (services/messaging/parsing.py): a text `_plain` passes is one whose
every value passes `content_problems`, and orjson parses it to what json parses it to. So the
fast path (orjson, no walk of the value) and the careful one (json, the walk) agree: the same
message and the same problems, for generated values with the nasty cases mixed in."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any
from unittest.mock import patch

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.services.messaging.content import content_problems, is_plain, parse_json
from syncline.services.messaging.inbox import Receipt, _receipt
from syncline.services.messaging.parsing import (
    _column,
    _header_values,
    _seq_int,
    _storable_raw,
    parse,
)
from tests.test_ingest_validation import mutated

nasty = st.sampled_from(["\u0000", "a\ud800b", "\udfff", "x" * 70_000, "é", "😀", ""])
numbers = (st.integers() | st.integers(min_value=2**62, max_value=2**70).map(lambda n: -n)
           | st.floats(allow_nan=True, allow_infinity=True))
leaves = st.none() | st.booleans() | numbers | st.text(max_size=20) | nasty
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=5) | nasty, inner, max_size=3),
                      max_leaves=15)
deep = st.integers(1, 80).map(lambda n: "[" * n + "]" * n)


def _texts(value: Any) -> list[str]:
    out = []
    for ascii_only in (True, False):
        with contextlib.suppress(ValueError, TypeError, RecursionError):
            out.append(json.dumps(value, ensure_ascii=ascii_only))
    return out


@settings(max_examples=400, deadline=None)
@given(values)
def test_what_plain_passes_has_no_content_problem_and_parses_the_same(value: Any) -> None:
    for raw in _texts(value):
        careful, problem = parse_json(raw)
        if not is_plain(raw):
            continue
        if problem is None:
            assert content_problems(careful) == []
        try:
            fast = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue  # the careful way is taken
        assert problem is None
        assert repr(fast) == repr(careful)


@settings(max_examples=200, deadline=None)
@given(values | deep)
def test_a_message_is_received_alike_either_way(value: Any) -> None:
    """The receipt's parts (message, key, problems) from the text equal those from the
    careful way alone (json, then the walk)."""
    for raw in [value] if isinstance(value, str) else _texts(value):
        message = {"specversion": "1.0", "id": "x-1", "source": "t", "type": "time.approved",
                   "data": "PLACEHOLDER"}
        text = json.dumps(message).replace('"PLACEHOLDER"', raw)
        got = parse(text)
        assert got.stored == _storable_raw(text)  # a plain text is stored as it is
        careful, problem = parse_json(text)
        if problem is not None:
            assert got.problems == [problem] and got.message is None
            continue
        assert repr(got.message) == repr(careful)
        found = content_problems(careful)
        if found:
            assert got.problems[:len(found)] == found


def _reference_header(message: Any) -> tuple[Any, ...]:
    """The header columns as `_column` and `_seq_int` word every value."""
    msg = message if isinstance(message, dict) else {}
    return (_column(msg.get("type"), 100), _column(msg.get("subject"), 200),
            _seq_int(msg.get("sequence")), _column(msg.get("time"), 40),
            _column(msg.get("correlationid"), 200))


header_values = (leaves | st.text(min_size=95, max_size=205)
                 | st.sampled_from([39, 40, 41, 99, 100, 101, 199, 200, 201]).map(lambda n: "x" * n)
                 | st.sampled_from(
                     ["time.approved", "é", "a\x00b", 2**63 - 1, 2**63, -1, 0, True, 1.0,
                      "123", "1" * 20, ["x"], {"a": 1}]))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "subject", "sequence", "time",
                                        "correlationid", "id"]), header_values) | values)
def test_the_header_columns_are_what_column_and_seq_int_make_of_them(message: Any) -> None:
    """Of a value, and of a text parsed the fast way (plain: no NUL in its strings) or not."""
    assert _header_values(message) == _reference_header(message)
    for raw in _texts(message):
        got = parse(raw)
        assert got.header == _reference_header(got.message)


def test_the_checks_it_replaces_are_seen() -> None:
    """Each thing `content_problems` refuses makes the text not plain."""
    for raw in ('{"a":"\\u0000"}', '{"a":"\\ud800"}', '{"a":9223372036854775808}',
                '{"a":-9223372036854775809}', "[" * 64 + "]" * 64,
                '{"a":"' + "x" * 65_537 + '"}'):
        assert not is_plain(raw), raw
    assert is_plain('{"a":"\\u00e9","n":922337203685477580,"f":1e308}')


@settings(max_examples=300, deadline=None)
@given(mutated(), st.sampled_from(["psa/kantata", "syncline/billing", "", "s" * 201, 7]),
       st.sampled_from(["e-1", "", "i" * 200, "i" * 201, None]), st.booleans())
def test_a_valid_message_is_parsed_as_the_careful_way_parses_it(
        message: dict[str, Any], source: Any, event_id: Any, trusted: bool) -> None:
    """The fast path's early return (a plain text, valid, keyed by its own source and id)
    gives what the careful way (json, the walk, validate_event) gives for the same text."""
    message = {**message, "source": source}
    if event_id is not None:
        message["id"] = event_id
    text = json.dumps(message)
    fast = parse(text, trusted)
    with patch("syncline.services.messaging.parsing.is_plain", lambda raw: False):
        careful = parse(text, trusted)
    assert fast == careful


@given(st.sampled_from(["accepted", "duplicate"]), st.text(max_size=5), st.text(max_size=5),
       st.text(max_size=5))
def test_the_loops_receipt_is_the_dataclass_receipt(status: str, inbox_id: str, source: str,
                                                    event_id: str) -> None:
    """`_receipt` (slots set directly) makes what `Receipt(...)` makes: equal, same hash,
    same fields, still frozen."""
    fast, made = (_receipt(status, inbox_id, source, event_id),
                  Receipt(status, inbox_id, source, event_id))
    assert fast == made and hash(fast) == hash(made) and repr(fast) == repr(made)
    assert dataclasses.astuple(fast) == dataclasses.astuple(made)
    assert [f.name for f in dataclasses.fields(Receipt)] == [
        "status", "inbox_id", "source", "event_id", "problems"]  # what _receipt sets
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.status = "rejected"  # type: ignore[misc]
