"""Facts held for the length of a close step: inside ``queries.entries_held(conn)`` a fact
that no scope changes — the period's costed time, the PSA's word on its entries, the projects
— is worked out once for the connection and answered to every entity and report built in it
(the close builds four reconciliations and a dozen reports per period, one per scope, each of
which read the same firm-wide facts before). Outside, every call computes as before.

Only facts the reports read and never change go here, and only for callers that write
nothing they depend on meanwhile (as ``entries_held`` says of the books). Callers must not
change what they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection

T = TypeVar("T")
_FACTS: WeakKeyDictionary[Connection, dict[Hashable, Any]] = WeakKeyDictionary()


@contextmanager
def facts_held(conn: Connection) -> Iterator[None]:
    """While inside, `held` answers each key once for ``conn`` (nested: the outer holds)."""
    outer = conn in _FACTS
    if not outer:
        _FACTS[conn] = {}
    try:
        yield
    finally:
        if not outer:
            del _FACTS[conn]


def holding(conn: Connection) -> bool:
    """Whether ``conn`` is inside `facts_held`."""
    return conn in _FACTS


def held(conn: Connection, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, once per key while ``conn`` is inside `facts_held`."""
    facts = _FACTS.get(conn)
    if facts is None:
        return compute()
    if key not in facts:
        facts[key] = compute()
    return facts[key]  # type: ignore[no-any-return]
