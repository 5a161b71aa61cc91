"""Issue 11: periods validated to a sane range and entities checked at every report, export,
statement and close entry point (HTTP and CLI); a close of a month that has not begun is
refused. "0000-01" and "9999-12" were server errors; an unknown entity was accepted; closing
an empty future month invoiced past items dated in that month."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from syncline.adapters.db.tables import invoices
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app as cli
from syncline.config import Settings
from syncline.ledger.periods import is_period_name
from syncline.services.ledger.period_checks import close_problem
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock  # 2026-07-15

KEY = {"X-API-Key": "test-key"}
BAD_PERIODS = ["0000-01", "9999-12", "1899-12", "3000-01", "2026-13", "2026-1", "2026-01\n",
               "²⁰²⁶-01"]
runner = CliRunner()


@pytest.fixture
def system(tmp_path: Path) -> Syncline:
    made = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}",
                              api_keys="test-key"), clock=fixed_clock, durable=False)
    from syncline.services.messaging.inbox import receive_many

    with made.engine.begin() as conn:  # time in January, not yet billed
        receive_many(conn, [deal(), worker(), time_entry("T-1")], now=fixed_clock())
    made.process()
    return made


@pytest.fixture
def http(system: Syncline) -> Iterator[TestClient]:
    with TestClient(create_app(system, background=False)) as c:
        yield c


def test_period_names_are_bounded() -> None:
    assert is_period_name("1900-01") and is_period_name("2999-12")
    assert is_period_name("2026-07")
    for bad in BAD_PERIODS:
        assert not is_period_name(bad), bad


def test_a_close_may_not_be_of_a_month_that_has_not_begun() -> None:
    today = date(2026, 7, 15)
    assert close_problem("2026-07", today) is None
    assert close_problem("2026-06", today) is None
    assert "has not begun" in (close_problem("2026-08", today) or "")
    assert close_problem("2026-08", today, months_ahead=1) is None
    assert "YYYY-MM" in (close_problem("9999-12", today) or "")


@pytest.mark.parametrize("period", BAD_PERIODS)
def test_bad_periods_are_422_everywhere(http: TestClient, period: str) -> None:
    for method, path, params in (
            ("get", "/v1/reports/trial-balance", {"period": period}),
            ("get", "/v1/reports/margin", {"period": period, "format": "csv"}),
            ("get", "/v1/exports/beancount", {"period": period}),
            ("get", "/v1/contracts/C-1/statement", {"period": period}),
            ("post", f"/v1/close/{quote(period)}", {})):
        r = http.request(method, path, params=params, headers=KEY)
        assert r.status_code in (404, 422), (path, period, r.status_code, r.text)


def test_unknown_entities_are_422(http: TestClient) -> None:
    for method, path, params in (
            ("get", "/v1/reports/trial-balance", {"period": "2026-01", "entity": "NOPE"}),
            ("get", "/v1/exports/beancount", {"period": "2026-01", "entity": "NOPE"}),
            ("post", "/v1/close/2026-01", {"entity": "NOPE"})):
        r = http.request(method, path, params=params, headers=KEY)
        assert r.status_code == 422, (path, r.text)
        assert "unknown entity 'NOPE'" in r.json()["detail"] and "US01" in r.json()["detail"]
    ok = http.get("/v1/reports/trial-balance", params={"period": "2026-01", "entity": "US01"},
                  headers=KEY)
    assert ok.status_code == 200


def test_closing_a_future_month_is_refused_and_bills_nothing(http: TestClient,
                                                              system: Syncline) -> None:
    r = http.post("/v1/close/2026-09", headers=KEY)
    assert r.status_code == 422 and "has not begun" in r.json()["detail"]
    with system.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(invoices)).scalar() == 0


def test_cli_refuses_bad_periods_entities_and_future_closes(system: Syncline) -> None:
    db = ["--database-url", system.settings.database_url]
    for args in (["close", "--period", "9999-12"], ["close", "--period", "2027-01"],
                 ["close", "--period", "2026-01", "--entity", "NOPE"],
                 ["report", "trial-balance", "--period", "0000-01"],
                 ["report", "trial-balance", "--period", "2026-01", "--entity", "NOPE"],
                 ["export", "beancount", "--out", "/dev/null", "--period", "2026-01",
                  "--entity", "NOPE"],
                 ["period", "close", "--period", "2026-01", "--entity", "NOPE"],
                 ["period", "close", "--period", "9999-12"]):
        done = runner.invoke(cli, [*args, *db])
        assert done.exit_code == 2, (args, done.output)
        assert done.exception is None or isinstance(done.exception, SystemExit), args
    with system.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(invoices)).scalar() == 0
