"""Each event of a batched `POST /v1/events` body is stored exactly as sent
(services/messaging/content.batch_texts): its own characters of the body, whatever the
whitespace and key order around them, for generated values with floats of every size, big
integers, control characters, DEL, non-ASCII text, NaN and lone surrogates mixed in; and it is
received as the same event sent alone (structured mode) is. Receipts are answered in the bytes
`JSONResponse` writes, by orjson."""

from __future__ import annotations

import contextlib
import itertools
import json
from typing import Any

import pytest
from fastapi.responses import JSONResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.api.binding import ReceiptsResponse, items_of
from syncline.services.messaging.content import batch_texts
from syncline.services.messaging.parsing import parse

nasty = st.sampled_from(["\u0000", "\x7f", "\x1f", "a\ud800b", "é", "😀", "", "\u2028",
                         "2e-18bd", ":1e+5", "[0.00001", "x" * 70_000, "],[", '"', "\\"])
numbers = (st.integers(min_value=-(2**66), max_value=2**66) | st.floats(allow_nan=True)
           | st.sampled_from([1e-5, 1e-4, 0.0001234, 1e16, 1e15, 1e22, -0.0, 5e-324,
                              1.7976931348623157e308, 123456789012345678.0]))
leaves = st.none() | st.booleans() | numbers | st.text(max_size=12) | nasty
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=4) | nasty, inner, max_size=3),
                      max_leaves=12)
spaces = st.text(alphabet=" \t\r\n", max_size=3)


def _text(value: Any, *, indent: int | None = None, ascii_: bool = False) -> str | None:
    with contextlib.suppress(ValueError, TypeError, RecursionError):
        return json.dumps(value, ensure_ascii=ascii_, indent=indent)
    return None


def _body(texts: list[str], gaps: list[str]) -> str:
    """A JSON array of ``texts`` with the whitespace ``gaps`` around its brackets and commas."""
    gap = itertools.cycle(gaps)
    return next(gap) + "[" + next(gap) + f"{next(gap)},{next(gap)}".join(texts) \
        + next(gap) + "]" + next(gap)


@settings(max_examples=500, deadline=None)
@given(st.lists(values, min_size=1, max_size=4), st.lists(spaces, min_size=1, max_size=4),
       st.sampled_from([None, 2]), st.booleans())
def test_each_element_is_its_own_text_of_the_body(
        elements: list[Any], gaps: list[str], indent: int | None, ascii_: bool) -> None:
    texts = [_text(e, indent=indent, ascii_=ascii_) for e in elements]
    if any(t is None for t in texts):
        return
    body = _body([t for t in texts if t is not None], gaps)
    found = batch_texts(body)
    assert found == texts  # the characters as sent, not written again
    assert repr([json.loads(t) for t in found]) == repr(json.loads(body))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4) | nasty, values, max_size=4), spaces)
def test_an_event_of_a_batch_is_received_as_the_event_sent_alone(
        data: dict[str, Any], gap: str) -> None:
    message = {"specversion": "1.0", "id": "x-1", "source": "t", "type": "time.approved",
               "data": data}
    alone = _text(message)
    if alone is None:
        return
    items, batched = items_of({"content-type": "application/cloudevents-batch+json"},
                              f"[{gap}{alone}{gap},{gap}{alone}]")
    assert batched and items == [alone, alone]
    from_batch, sent_alone = parse(items[0]), parse(alone)
    assert (from_batch.raw, from_batch.source, from_batch.event_id, from_batch.problems) == (
        sent_alone.raw, sent_alone.source, sent_alone.event_id, sent_alone.problems)
    assert from_batch.raw == alone


@pytest.mark.parametrize("body", [
    "", "[", "]", "[1,]", "[,1]", "[1 2]", "[1],", "[1]x", "{}", '"[1]"', "[1,2", "[NaN,",
    '[{"a":1}', '[{"a":1}]]'])
def test_what_is_not_one_array_is_none(body: str) -> None:
    assert batch_texts(body) is None


def test_an_empty_array_and_big_numbers_as_json_reads_them() -> None:
    assert batch_texts(" [ ] ") == []
    assert batch_texts('[18446744073709551616, NaN,{"b":2, "a":1}]') == [
        "18446744073709551616", "NaN", '{"b":2, "a":1}']  # the key order as sent


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
