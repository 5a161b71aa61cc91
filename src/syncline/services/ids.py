"""Syncline ids: a type prefix and a ULID (``cus_01J…``).

A ULID is 48 bits of Unix milliseconds and 80 random bits, as 26 characters of Crockford
base32 (https://github.com/ulid/spec). Made here rather than by python-ulid's `ULID()`, which
cost a receive or an apply about a tenth of its time: the same layout, monotonic within a
process as python-ulid's is (within one millisecond the random part counts up by one), and
the base32 made ten bits (two characters) at a time from a table.

Ids made one after another differ mostly in their last characters: the text of the
millisecond and of the random part's top 60 bits is kept and made again only when it
changes, and `new_ids` reserves a run of ids under one lock (a chunk of received messages
takes its ids in one call).
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits -> 2 characters
_RANDOM_MAX = (1 << 80) - 1
_LOW = 20  # the bits of the random part written apart (two pairs); the rest is kept as text
_LOW_MASK = (1 << _LOW) - 1
_lock = threading.Lock()
_last = [0, -1]  # milliseconds, random part of the last id made
_head = [(-1, -1, "")]  # milliseconds, random part >> _LOW, and their 22 characters


def _reserve(n: int) -> tuple[int, int]:
    """The millisecond and the first random part of `n` new ids (random parts first … first
    + n - 1), later than every id this process made before."""
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last[0]:
            ms, first = _last[0], _last[1] + 1
        else:
            first = int.from_bytes(os.urandom(10), "big")
        while first + n - 1 > _RANDOM_MAX:  # past 2^80 ids in one millisecond: the next one
            ms, first = ms + 1, int.from_bytes(os.urandom(10), "big")
        _last[0], _last[1] = ms, first + n - 1
    return ms, first


def _head_text(ms: int, high: int) -> str:
    """The first 22 characters of a ULID: the millisecond (2 zero bits and 48: 10 characters)
    and the top 60 bits of the random part (12)."""
    head = _head[0]
    if head[0] != ms or head[1] != high:
        text = ("".join([_PAIRS[(ms >> s) & 1023] for s in (40, 30, 20, 10, 0)])
                + "".join([_PAIRS[(high >> s) & 1023] for s in (50, 40, 30, 20, 10, 0)]))
        head = (ms, high, text)
        _head[0] = head
    return head[2]


def ulid_text() -> str:
    """A new ULID's 26 characters, later than (or, within one millisecond, counting up from)
    the last one this process made."""
    ms, rand = _reserve(1)
    return _head_text(ms, rand >> _LOW) + _PAIRS[(rand >> 10) & 1023] + _PAIRS[rand & 1023]


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid_text()}"


def new_ids(prefix: str, n: int) -> list[str]:
    """`n` new ids, in order: what `n` calls of `new_id` would give, made in one millisecond."""
    if n <= 0:
        return []
    ms, first = _reserve(n)
    out: list[str] = []
    end = first + n
    while first < end:  # one stretch per value of the random part's top 60 bits
        high = first >> _LOW
        stop = min(end, (high + 1) << _LOW)
        head = f"{prefix}_{_head_text(ms, high)}"
        out += [head + _PAIRS[(r >> 10) & 1023] + _PAIRS[r & 1023] for r in range(first, stop)]
        first = stop
    return out
