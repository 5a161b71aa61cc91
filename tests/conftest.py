"""Shared fixtures: a Syncline on a fresh SQLite file, inline delivery, a fixed clock; and the
project's Hypothesis profiles (docs/testing.md).

Profiles, chosen by ``SYNCLINE_HYPOTHESIS=NAME`` (else ``ci`` when CI=true, else ``dev``) or
by ``pytest --hypothesis-profile NAME``, which wins over both:

- ``dev`` (default): no deadline (a first example pays for imports and SQLite files);
- ``ci``: as dev, random (``derandomize=False``: Hypothesis's own CI profile would
  derandomize) and printing the blob that reproduces a failure (``print_blob=True``);
- ``slow``: ten times the examples (1000 a test unless the test sets its own count), blobs
  printed.

Tests marked ``slow`` (whole-system properties: every example bootstraps a system) take
their count from the profile through ``examples(n)``: n under dev and ci, 10 x n under slow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings

FIXED_NOW = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
PROFILE_VARIABLE = "SYNCLINE_HYPOTHESIS"
DEFAULT_EXAMPLES = 100  # Hypothesis's own default max_examples, kept by dev and ci


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pg_admin() -> Any:
    """The local PostgreSQL server's admin engine; skips the test with the reason when no
    server answers, and fails it instead under CI=true (docs/testing.md)."""
    from syncline.adapters.db.scratch import ADMIN_URL, admin_engine

    try:
        return admin_engine()
    except Exception as err:  # any connection failure means "no server"
        if in_ci():
            pytest.fail(f"PostgreSQL is required under CI=true but not reachable: {err}")
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {type(err).__name__}")


# parent: Hypothesis's own defaults, not whatever is active (under CI Hypothesis has already
# loaded its built-in "ci" profile, which derandomizes)
_BASE = settings.get_profile("default")
settings.register_profile("dev", _BASE, deadline=None, max_examples=DEFAULT_EXAMPLES)
settings.register_profile("ci", _BASE, deadline=None, max_examples=DEFAULT_EXAMPLES,
                          derandomize=False, print_blob=True)
settings.register_profile("slow", _BASE, deadline=None, max_examples=10 * DEFAULT_EXAMPLES,
                          print_blob=True)
settings.load_profile(os.environ.get(PROFILE_VARIABLE) or ("ci" if in_ci() else "dev"))


def examples(n: int) -> int:
    """How many examples a whole-system property runs: ``n`` per 100 of the active profile's
    ``max_examples`` (n under dev and ci, 10 x n under slow), at least 1. Evaluated when the
    test module is imported, after ``--hypothesis-profile`` has been applied."""
    active = settings.default
    assert active is not None
    return max(1, n * active.max_examples // DEFAULT_EXAMPLES)


def fixed_clock() -> datetime:
    return FIXED_NOW


def pg_engine_of(name: str) -> Iterator[Any]:
    """A migrated engine on a throwaway PostgreSQL database named after ``name`` (for a
    module-scoped fixture: ``yield from pg_engine_of("syncline_…")``); skips, or fails
    under CI=true, as `pg_admin` does."""
    from syncline.adapters.db.scratch import throwaway_database

    admin = pg_admin()
    try:
        with throwaway_database(admin, name) as url:
            engine = bootstrap(Settings(database_url=url), clock=fixed_clock,
                               durable=False).engine
            try:
                yield engine
            finally:
                engine.dispose()
    finally:
        admin.dispose()


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Syncline]:
    config = Settings(database_url=f"sqlite:///{tmp_path / 'syncline.db'}")
    sys_ = bootstrap(config, clock=fixed_clock, durable=False)
    yield sys_
    sys_.engine.dispose()


# The suite's SYNCLINE_API_KEYS keys ("test-key" …) predate governance and drive every write
# endpoint: they get the roles those tests need (the default is integration only,
# docs/governance.md). Set for the whole run, before any fixture reads Settings; tests of
# governance pass their own roles.
os.environ.setdefault("SYNCLINE_API_KEY_ROLES", "integration,billing,finance,controller")
# The suite's API tests (schemathesis, the hypothesis HTTP tests) send thousands of requests as
# one principal; rate limits are tested on their own (tests/e2e/test_rate_limits.py).
os.environ.setdefault("SYNCLINE_RATE_LIMIT", "off")


@pytest.fixture(autouse=True)
def _no_handler_on_a_closed_stream() -> Iterator[None]:
    """A command run through typer's `CliRunner` swaps standard error for a buffer it closes
    afterwards; a library that set up its logging inside it (DBOS adds a stream handler to its
    logger when it launches) keeps writing there, and a later test that logs failed with "I/O
    operation on closed file" — the suite passed or failed by test order. After each test,
    handlers left on a closed stream are removed."""
    import logging

    yield
    loggers = [logging.getLogger(), *(
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            stream = getattr(handler, "stream", None)
            if stream is not None and getattr(stream, "closed", False):
                logger.removeHandler(handler)
