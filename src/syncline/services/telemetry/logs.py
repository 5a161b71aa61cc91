"""JSON logs (structlog): one line per event, with what is bound in the context —
``correlation_id``, ``event_id``, ``inbox_id`` and ``principal`` — merged in.

``configure()`` is called once by the long-running entry points (``serve``, ``worker``):
JSON lines on standard error (standard output may carry a command's JSON answer). Until it
is called nothing is logged (``enabled()`` is false), so library use, tests and one-shot CLI
commands print nothing. Context is bound with ``bound(**values)`` (structlog's contextvars),
by the processor around each message and by the API around each request.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import structlog

_state = {"on": False}


def configure(stream: IO[str] | None = None, level: int = logging.INFO) -> None:
    """JSON lines with ISO UTC timestamps and the level, to ``stream`` (standard error)."""
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(sort_keys=True)],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False)
    _state["on"] = True


def reset() -> None:
    """Back to silent (tests)."""
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    _state["on"] = False


def enabled() -> bool:
    return _state["on"]


def log(event: str, **values: Any) -> None:
    """Log ``event`` at INFO with ``values`` and the bound context — when configured."""
    if _state["on"]:
        structlog.get_logger("syncline").info(event, **values)


def warn(event: str, **values: Any) -> None:
    if _state["on"]:
        structlog.get_logger("syncline").warning(event, **values)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind ``values`` (None ones left out) to every line logged inside the block."""
    with structlog.contextvars.bound_contextvars(
            **{k: v for k, v in values.items() if v is not None}):
        yield
