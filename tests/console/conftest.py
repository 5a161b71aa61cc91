"""The console tests' usual fixtures: the small firm and a test client of its app (a test
module that needs another firm defines its own ``firm``, which ``http`` then serves)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from syncline.api.app import create_app
from tests.console.firm import Firm, small_firm


@pytest.fixture
def firm(tmp_path: Path) -> Firm:
    return small_firm(tmp_path)


@pytest.fixture
def http(firm: Firm) -> Iterator[TestClient]:
    with TestClient(create_app(firm.system, background=False)) as client:
        yield client
