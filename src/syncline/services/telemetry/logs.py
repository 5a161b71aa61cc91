"""JSON logs (structlog): one line per event, with what is bound in the context —
``correlation_id``, ``event_id``, ``inbox_id`` and ``principal`` — merged in.

``configure()`` is called once by the long-running entry points (``serve``, ``worker``):
JSON lines on standard error (standard output may carry a command's JSON answer). Until it
is called nothing is logged (``enabled()`` is false), so library use, tests and one-shot CLI
commands print nothing. Context is bound with ``bound(**values)`` (structlog's contextvars),
by the processor around each message and by the API around each request.

The least level logged is the ``level`` given (``SYNCLINE_LOG_LEVEL``, default INFO): at
WARNING the per-request and per-message INFO lines are dropped, and ``enabled(INFO)`` tells
a caller it need not prepare one.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import structlog

_state: dict[str, Any] = {"on": False, "level": logging.INFO, "logger": None}
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def level_of(name: str | int) -> int:
    """``logging.WARNING`` of ``"warning"``; a ValueError for a name that is no level."""
    if isinstance(name, int):
        return name
    if name.strip().upper() not in LEVELS:
        raise ValueError(f"log level {name!r} is not one of {', '.join(LEVELS)}")
    return int(getattr(logging, name.strip().upper()))


def configure(stream: IO[str] | None = None, level: int | str = logging.INFO) -> None:
    """JSON lines with ISO UTC timestamps and the level, to ``stream`` (standard error),
    from ``level`` up (a number or a name: ``SYNCLINE_LOG_LEVEL``)."""
    least = level_of(level)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info, structlog.processors.JSONRenderer(sort_keys=True)]
    wrapper = structlog.make_filtering_bound_logger(least)
    output = structlog.WriteLoggerFactory(file=stream or sys.stderr)  # type: ignore[arg-type]
    structlog.configure(processors=processors, wrapper_class=wrapper, logger_factory=output,
                        cache_logger_on_first_use=False)
    # the one logger, built once: a line a request, so no lazy proxy resolved per line
    _state["logger"] = structlog.wrap_logger(output(), processors=processors,
                                             wrapper_class=wrapper)
    _state["on"], _state["level"] = True, least


def reset() -> None:
    """Back to silent (tests)."""
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    _state["on"], _state["level"], _state["logger"] = False, logging.INFO, None


def enabled(level: int | None = None) -> bool:
    """Logs are configured (and, given a level, a line at ``level`` would be written)."""
    return bool(_state["on"]) and (level is None or level >= _state["level"])


def log(event: str, **values: Any) -> None:
    """Log ``event`` at INFO with ``values`` and the bound context — when configured."""
    if enabled(logging.INFO):
        _state["logger"].info(event, **values)


def warn(event: str, **values: Any) -> None:
    if enabled(logging.WARNING):
        _state["logger"].warning(event, **values)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind ``values`` (None ones left out) to every line logged inside the block."""
    with structlog.contextvars.bound_contextvars(
            **{k: v for k, v in values.items() if v is not None}):
        yield
