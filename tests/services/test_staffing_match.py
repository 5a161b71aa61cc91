"""The staffing match of a stored request, through the service, the CLI (`syncline staffing
match`) and the API (`GET /v1/staffing/requests/{id}/matches`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app
from syncline.config import Settings
from syncline.services.governance.keys import create_key
from syncline.services.messaging.inbox import receive_many
from syncline.services.workforce.matching import matches
from tests.builders import deal
from tests.conftest import fixed_clock
from tests.workforce_builders import assignment, person, request


@pytest.fixture
def firm(tmp_path: Path) -> Iterator[Syncline]:
    url = f"sqlite:///{tmp_path / 's.db'}"
    system = bootstrap(Settings(database_url=url, api_keys="legacy-key",
                                api_key_roles="integration"), clock=fixed_clock, durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, [
            deal(),  # consultant at 200.00
            person("W-1", name="Ana", cost="80", skills={"python": 4}),
            person("W-2", name="Ben", cost="120", skills={"python": 3}, city="Denver"),
            person("W-3", name="Cleo", cost="60", skills={"python": 2}),
            request("RR-0", hours="30"), assignment("A-0", "W-1", request_id="RR-0",
                                                    hours="30"),
            request(skills={"python": 3})], now=fixed_clock())
    system.process()
    system.database_url = url  # type: ignore[attr-defined]
    yield system
    system.engine.dispose()


def test_the_match_ranks_with_reasons(firm: Syncline) -> None:
    with firm.engine.connect() as conn:
        found = matches(conn, "RR-1", top=3)
        assert matches(conn, "RR-404") is None
    assert found is not None
    assert found["request"]["bill_rate"] == "200.00"
    ranked = [(c["name"], c["score"]) for c in found["candidates"]]
    # Ana: skills 35, only 10 of 20 h free (15.0), cost 15×120/200=9.0, city 10, role 5,
    #   utilization 75% → 125% of target 80%: 5×(1−0.45/0.8)=2.2 → 76.2
    # Ben: 35 + 30 + 15×80/200=6.0 + 0 (Denver) + 5 + 5×(1−0.3/0.8)=3.1 → 79.1
    # Cleo: 35×2/3=23.3 + 30 + 15×140/200=10.5 + 10 + 5 + 3.1 → 81.9
    assert ranked == [("Cleo", "81.9"), ("Ben", "79.1"), ("Ana", "76.2")]
    assert found["candidates"][2]["summary"] == (
        "Ana: python 4/3 ✓, 10 of 20 h/wk free over the window, cost 80 vs rate 200, same "
        "city, 75% → 125% (target 80%)")


def test_the_cli_prints_the_ranking_and_json(firm: Syncline) -> None:
    runner = CliRunner()
    url = firm.database_url  # type: ignore[attr-defined]
    r = runner.invoke(app, ["staffing", "match", "RR-1", "--top", "2", "--json",
                            "--database-url", url])
    assert r.exit_code == 0, r.output
    assert [c["worker_id"] for c in json.loads(r.output)["candidates"]] == ["W-3", "W-2"]
    r = runner.invoke(app, ["staffing", "match", "RR-1", "--database-url", url])
    assert r.exit_code == 0 and "Cleo (W-3)" in r.output
    r = runner.invoke(app, ["staffing", "match", "RR-9", "--database-url", url])
    assert r.exit_code == 1


def test_the_api_serves_matches_to_readers(firm: Syncline) -> None:
    with firm.engine.begin() as conn:
        key = create_key(conn, "k-pmo", ["pmo"], by="setup", now=fixed_clock())[0]
    with TestClient(create_app(firm, background=False)) as http:
        got = http.get("/v1/staffing/requests/RR-1/matches", params={"top": 1},
                       headers={"X-API-Key": key})
        assert got.status_code == 200
        assert [c["name"] for c in got.json()["candidates"]] == ["Cleo"]
        assert http.get("/v1/staffing/requests/RR-9/matches",
                        headers={"X-API-Key": key}).status_code == 404
        assert http.get("/v1/staffing/requests/RR-1/matches").status_code == 401


def test_open_matches_answers_every_open_request_like_the_day_by_day_match(
        firm: Syncline) -> None:
    from syncline.domain.staffing import match
    from syncline.services.workforce.facts import get_request, request_of, workers_as_of
    from syncline.services.workforce.matching import open_matches

    with firm.engine.connect() as conn:
        answered = open_matches(conn, top=2)
        # RR-0 is filled: only RR-1 is open
        assert [a["request"]["request_id"] for a in answered] == ["RR-1"]
        assert answered[0] == matches(conn, "RR-1", 2)
        asked = request_of(get_request(conn, "RR-1"))
        reference = match(asked, workers_as_of(conn, asked.span.start), 2)
    assert [(c["worker_id"], c["score"], c["reasons"]) for c in answered[0]["candidates"]] == [
        (c.worker_id, str(c.score), list(c.reasons)) for c in reference]
