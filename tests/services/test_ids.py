"""Syncline ids (services/ids.py): a prefix and a ULID — 26 characters of Crockford base32,
48 bits of milliseconds then 80 random bits — and, within a process, every id later than the
one before, whether made one at a time (`new_id`) or in runs (`new_ids`)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.services import ids
from syncline.services.ids import new_id, new_ids, ulid_text

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _value(ulid: str) -> int:
    assert len(ulid) == 26 and set(ulid) <= set(ALPHABET), ulid
    out = 0
    for c in ulid:
        out = out * 32 + ALPHABET.index(c)
    return out


def _parts(id_: str, prefix: str) -> tuple[int, int]:
    """The millisecond and the random part of an id."""
    head, _, ulid = id_.partition("_")
    assert head == prefix
    value = _value(ulid)
    assert value < 1 << 128
    return value >> 80, value & ((1 << 80) - 1)


def test_an_id_is_its_prefix_and_a_ulid_of_now() -> None:
    before = time.time_ns() // 1_000_000
    made = [new_id("inb"), *new_ids("inb", 3), f"inb_{ulid_text()}"]
    after = time.time_ns() // 1_000_000
    for id_ in made:
        ms, _ = _parts(id_, "inb")
        assert before <= ms <= after + 1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=6))
def test_ids_made_one_at_a_time_or_in_runs_only_go_up(runs: list[int]) -> None:
    made: list[str] = []
    for n in runs:
        made.append(new_id("x"))
        got = new_ids("x", n)
        assert len(got) == n
        made += got
    values = [_parts(i, "x") for i in made]
    assert values == sorted(values) and len(set(values)) == len(values)


def test_a_run_counts_up_by_one_across_the_kept_characters(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A run whose random part crosses a 2^20 boundary (where the kept text of the top bits
    changes) still counts up by one, each id written in full."""
    now = time.time_ns() // 1_000_000 + 10_000  # later than any id made so far
    monkeypatch.setattr(ids.time, "time_ns", lambda: now * 1_000_000)
    first = (5 << 20) - 3
    monkeypatch.setattr(ids.os, "urandom", lambda n: first.to_bytes(n, "big"))
    got = [*new_ids("y", 7), new_id("y")]
    assert [_parts(i, "y") for i in got] == [(now, first + k) for k in range(8)]


def test_past_the_random_parts_last_value_the_next_millisecond_is_borrowed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time_ns() // 1_000_000 + 20_000
    monkeypatch.setattr(ids.time, "time_ns", lambda: now * 1_000_000)
    top = (1 << 80) - 2
    values = iter([top, 7])
    monkeypatch.setattr(ids.os, "urandom", lambda n: next(values).to_bytes(n, "big"))
    got = [_parts(i, "z") for i in [new_id("z"), *new_ids("z", 2)]]
    assert got == [(now, top), (now + 1, 7), (now + 1, 8)]
    assert got == sorted(got)


def test_an_empty_run_is_empty() -> None:
    assert new_ids("x", 0) == []
