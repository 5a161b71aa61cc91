"""A batch's events are decoded by orjson and written by orjson where that gives what json
gives (services/messaging/content.py): the same values as `json.loads`, the same stored text
as `json.dumps(sort_keys=True)`, and so the same receipts as the dict received alone — for
generated values with floats of every size, big integers, control characters, DEL,
non-ASCII text, NaN and lone surrogates mixed in. Receipts are answered in the bytes
`JSONResponse` writes, by orjson."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson
import pytest
from fastapi.responses import JSONResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.api.binding import ReceiptsResponse
from syncline.services.messaging.content import Decoded, canonical_json, decode_batch
from syncline.services.messaging.inbox import _parse

nasty = st.sampled_from(["\u0000", "\x7f", "\x1f", "a\ud800b", "é", "😀", "", "\u2028",
                         "2e-18bd", ":1e+5", "[0.00001", "x" * 70_000])
numbers = (st.integers(min_value=-(2**66), max_value=2**66) | st.floats(allow_nan=True)
           | st.sampled_from([1e-5, 1e-4, 0.0001234, 1e16, 1e15, 1e22, -0.0, 5e-324,
                              1.7976931348623157e308, 123456789012345678.0]))
leaves = st.none() | st.booleans() | numbers | st.text(max_size=12) | nasty
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=4) | nasty, inner, max_size=3),
                      max_leaves=12)
CANONICAL = {"sort_keys": True, "separators": (",", ":"), "allow_nan": True}


def _text(value: Any) -> str | None:
    with contextlib.suppress(ValueError, TypeError, RecursionError):
        return json.dumps(value, ensure_ascii=False)
    return None


@settings(max_examples=500, deadline=None)
@given(values)
def test_orjson_decodes_a_batch_as_json_does_and_writes_each_event_as_json_does(
        value: Any) -> None:
    text = _text([value])
    if text is None:
        return
    decoded, by_orjson = decode_batch(text)
    assert repr(decoded) == repr(json.loads(text))
    if by_orjson:
        assert canonical_json(decoded[0]) == json.dumps(decoded[0], **CANONICAL)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4) | nasty, values, max_size=4))
def test_a_decoded_event_is_received_as_its_dict_alone_is(data: dict[str, Any]) -> None:
    message = {"specversion": "1.0", "id": "x-1", "source": "t", "type": "time.approved",
               "data": data}
    text = _text([message])
    if text is None:
        return
    decoded, by_orjson = decode_batch(text)
    if not by_orjson:
        return
    fast = _parse(Decoded(canonical_json(decoded[0]), decoded[0]))
    alone = _parse(json.loads(text)[0])
    assert (fast.raw, fast.source, fast.event_id, fast.problems) == (
        alone.raw, alone.source, alone.event_id, alone.problems)


@pytest.mark.parametrize("number", [1e-5, -2.5e-7, 1e16, 1e-4, 0.00001234, 1e22])
def test_a_float_orjson_writes_otherwise_is_written_by_json(number: float) -> None:
    value = {"a": number, "b": [number], "c": {"d": -number}}
    assert canonical_json(value) == json.dumps(value, **CANONICAL)
    assert canonical_json(number) == json.dumps(number)


def test_what_orjson_would_read_otherwise_is_left_to_json() -> None:
    """A 20-digit integer (orjson: a float), NaN and a lone surrogate (orjson refuses)."""
    for text in ('[{"n":18446744073709551616}]', '[{"n":NaN}]', '[{"s":"\\ud800"}]'):
        decoded, by_orjson = decode_batch(text)
        assert not by_orjson and repr(decoded) == repr(json.loads(text))
    assert decode_batch('[{"n":1}]') == ([{"n": 1}], True)
    assert repr(orjson.loads('[{"n":18446744073709551616}]')) != repr(json.loads(
        '[{"n":18446744073709551616}]'))  # why the digits are looked for


receipts_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",))) | nasty.filter(
        lambda s: "\ud800" not in s),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(receipts_like)
def test_receipts_are_answered_in_the_bytes_json_response_writes(content: Any) -> None:
    assert ReceiptsResponse(content).body == JSONResponse(content).body
