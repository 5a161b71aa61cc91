"""Syncline ids: a type prefix and a ULID (``cus_01J…``).

A ULID is 48 bits of Unix milliseconds and 80 random bits, as 26 characters of Crockford
base32 (https://github.com/ulid/spec). Made here rather than by python-ulid's `ULID()`, which
cost a receive or an apply about a tenth of its time: the same layout, monotonic within a
process as python-ulid's is (within one millisecond the random part counts up by one), and
the base32 made ten bits (two characters) at a time from a table.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits -> 2 characters
_SHIFTS = (70, 60, 50, 40, 30, 20, 10, 0)  # the random part: 80 bits, 8 pairs
_RANDOM_MAX = (1 << 80) - 1
_lock = threading.Lock()
_last = [0, 0]  # milliseconds, random part of the last id made
_stamp = [(-1, "")]  # milliseconds and their 10 characters (2 zero bits and 48), swapped whole


def ulid_text() -> str:
    """A new ULID's 26 characters, later than (or, within one millisecond, counting up from)
    the last one this process made."""
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last[0]:
            ms, rand = _last[0], _last[1] + 1
            if rand > _RANDOM_MAX:  # 2^80 ids in one millisecond: borrow the next one
                ms, rand = ms + 1, int.from_bytes(os.urandom(10), "big")
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last[0], _last[1] = ms, rand
    stamp = _stamp[0]
    if stamp[0] != ms:
        stamp = (ms, "".join([_PAIRS[(ms >> s) & 1023] for s in (40, 30, 20, 10, 0)]))
        _stamp[0] = stamp
    return stamp[1] + "".join([_PAIRS[(rand >> s) & 1023] for s in _SHIFTS])


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid_text()}"
