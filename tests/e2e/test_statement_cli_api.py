"""The contract statement through its entry points: `syncline contract statement` and
`GET /v1/contracts/{number}/statement` give the same figures as the service (the firm and its
hand computation: tests/services/test_statement.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app as cli
from syncline.config import Settings
from tests.conftest import fixed_clock
from tests.services.test_statement import firm, statement

KEY = {"X-API-Key": "statement-key"}


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Syncline, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('statement') / 'books.db'}"
    system = bootstrap(Settings(database_url=url, api_keys="statement-key"), clock=fixed_clock,
                       durable=False)
    firm(system)
    yield system, url
    system.engine.dispose()


def test_the_api_gives_the_statement(books: tuple[Syncline, str]) -> None:
    system, _ = books
    with TestClient(create_app(system)) as http:
        r = http.get("/v1/contracts/C-1/statement", params={"period": "2026-02"}, headers=KEY)
        assert r.status_code == 200, r.text
        assert r.json() == statement(system, "2026-02")
        body = r.json()
        assert (body["billed"], body["credits"], body["revenue"], body["labor_cost"]) == (
            "0", "1600.00", "-1600.00", "-640.00")
        now = http.get("/v1/contracts/C-1/statement",
                       params={"period": "2026-01", "as_of": "now"}, headers=KEY).json()
        assert now["labor_cost"] == "320.00"
        assert http.get("/v1/contracts/C-1/statement?period=2026-02").status_code == 401
        assert http.get("/v1/contracts/C-404/statement?period=2026-02",
                        headers=KEY).status_code == 404
        assert http.get("/v1/contracts/C-1/statement?period=2026-2",
                        headers=KEY).status_code == 422
        assert http.get("/v1/contracts/C-1/statement?period=2026-02&as_of=soon",
                        headers=KEY).status_code == 422


def test_the_cli_gives_the_statement(books: tuple[Syncline, str], tmp_path: Path) -> None:
    system, url = books
    runner = CliRunner()
    got = runner.invoke(cli, ["contract", "statement", "C-1", "--period", "2026-01", "--json",
                              "--database-url", url])
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout) == statement(system, "2026-01")
    table = runner.invoke(cli, ["contract", "statement", "C-1", "--period", "2026-01",
                                "--database-url", url])
    assert table.exit_code == 0, table.output
    assert "Cap write-offs" in table.stdout and "400.00" in table.stdout
    assert "adjustment:cap:NTE-1:time:T-2#over" in table.stdout
    missing = runner.invoke(cli, ["contract", "statement", "C-404", "--period", "2026-01",
                                  "--database-url", url])
    assert missing.exit_code == 1
    bad = runner.invoke(cli, ["contract", "statement", "C-1", "--period", "2026-1",
                              "--database-url", url])
    assert bad.exit_code == 2
