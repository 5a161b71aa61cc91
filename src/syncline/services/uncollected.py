"""No automatic garbage collection while a unit of work runs (ADR 0018).

A close step decodes and holds what it checks (books, documents, cost cells, reports) for
its length and then drops it: reference counting frees it all when the step returns. While
the collector is on, those objects, alive through the step, survive the young collections
and are promoted until the old generation has grown by a quarter, which triggers a *full*
collection: it walks every object of the process (the process's own, what it keeps across
steps, the step's) to find next to nothing — about once a close at the bench's sizes, a
tenth of a second landing in whichever step, and longer the more the process holds. Paused,
the step makes no collection; the collector's state is restored after (and left alone where
it was already off), and cyclic garbage the step made is collected by the next collection.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def uncollected() -> Iterator[None]:
    """No automatic collection inside; the collector as it was after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def without_collection(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` run inside `uncollected`."""
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with uncollected():
            return fn(*args, **kwargs)

    return run
