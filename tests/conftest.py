"""Shared fixtures: a Syncline on a fresh SQLite file, inline delivery, a fixed clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings

FIXED_NOW = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_NOW


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Syncline]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'syncline.db'}")
    sys_ = bootstrap(settings, clock=fixed_clock, durable=False)
    yield sys_
    sys_.engine.dispose()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
