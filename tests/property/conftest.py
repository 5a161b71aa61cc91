"""Fixtures of the property tests: the closed firm's database, built once a module."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.property.closed_firm import closed_firm


@pytest.fixture(scope="module")
def firm_db() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "firm.db"
        closed_firm(f"sqlite:///{db}").engine.dispose()
        yield db
