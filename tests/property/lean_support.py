"""What the lean-path properties (test_time_lean.py, test_expense_lean.py) share: a firm made
of their messages, received and applied once for the module, and a strategy that makes a
set's entries share most of their fields (so memos keyed on them are exercised)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.messaging.inbox import receive_many
from tests.conftest import fixed_clock


def processed_firm(messages: list[Any]) -> Iterator[Syncline]:
    """A Syncline on a temporary SQLite file that received and applied ``messages``."""
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'f.db'}"),
                           clock=fixed_clock, durable=False)
        with system.engine.begin() as conn:
            receive_many(conn, messages, now=fixed_clock())
        system.process()
        yield system
        system.engine.dispose()


def mostly(common: list[Any], rare: list[Any]) -> st.SearchStrategy[Any]:
    """The common values four times as likely as the rare ones (a set's entries share most
    of their fields, as a real set's do)."""
    return st.sampled_from(common * 4 + rare)
