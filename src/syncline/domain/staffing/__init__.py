"""Staffing, pure (no I/O): capacity and load of workers (``model``), the ranked match of a
resource request with its reasons (``score``, day by day), and the same match of many
requests in one pass (``batch``). docs/workforce.md states the rules."""

from typing import TYPE_CHECKING, Any

from syncline.domain.staffing.model import (
    DEFAULT_CAPACITY,
    DEFAULT_TARGET,
    FIVE,
    WEIGHTS,
    Booking,
    Candidate,
    Request,
    Span,
    Worker,
    capacity_on,
    eligible,
    load_on,
    overload,
)
from syncline.domain.staffing.score import Window, match, score, window_of

if TYPE_CHECKING:
    from syncline.domain.staffing.batch import StaffingIndex, match_many

__all__ = ["DEFAULT_CAPACITY", "DEFAULT_TARGET", "FIVE", "WEIGHTS", "Booking", "Candidate",
           "Request", "Span", "StaffingIndex", "Window", "Worker", "capacity_on", "eligible",
           "load_on", "match", "match_many", "overload", "score", "window_of"]


def __getattr__(name: str) -> Any:
    """The batch matcher (``batch``, on numpy) is imported when first asked for: a command
    that never matches many requests does not load numpy (~0.17 s of its start)."""
    if name in ("StaffingIndex", "match_many"):
        from syncline.domain.staffing import batch

        return getattr(batch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
