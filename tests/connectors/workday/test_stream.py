"""The workers stream against the fake Workday: auth, paging, retries, cursor, duplicates."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import Syncline
from syncline.connectors.registry import Wiring
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.connectors.workday import build
from syncline.connectors.workday.fake import FakeWorkday
from syncline.connectors.workday.mapping import RAAS_FIELDS
from syncline.services.connectors import cursors
from tests.conftest import fixed_clock

FIXTURES = Path(__file__).parents[2] / "fixtures" / "workday"
ROLES = {"Senior Consultant": "senior_consultant", "Consultant": "consultant"}
ENV = {"WD_PASS": "isu-pass", "WD_SECRET": "wd-secret", "WD_REFRESH": "wd-refresh"}
RAAS = {"host": "wd2-impl-services1.workday.com", "tenant": "acme",
        "report_owner": "ISU_Syncline", "report_name": "Syncline_Workers",
        "username": "ISU_Syncline@acme", "password": "${env:WD_PASS}", "roles": ROLES}
REST = {"host": "wd2-impl-services1.workday.com", "tenant": "acme", "source": "rest",
        "client_id": "wd-client", "client_secret": "${env:WD_SECRET}",
        "refresh_token": "${env:WD_REFRESH}", "roles": ROLES, "page_size": 2,
        "fields": RAAS_FIELDS}  # a tenant whose REST items carry the report's names


def fixture_rows() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "raas_workers.json").read_text())["Report_Entry"]


def connector(fake: FakeWorkday, settings: dict[str, Any], slept: list[float]) -> Any:
    wiring = Wiring(transport=httpx.MockTransport(fake), sleep=slept.append, clock=fixed_clock,
                    env=ENV)
    return build(ConnectorConfig("hr", "workday", settings), wiring)


def loaded(rows: list[dict[str, Any]] | None = None) -> FakeWorkday:
    fake = FakeWorkday()
    for row in rows if rows is not None else fixture_rows():
        fake.put(row["Employee_ID"], date(2020, 1, 1), row)
    return fake


def stored(system: Syncline) -> list[Any]:
    with system.engine.connect() as conn:
        return list(conn.execute(select(inbox.c.type, inbox.c.status, inbox.c.source,
                                        inbox.c.subject).order_by(inbox.c.seq)))


def test_raas_sends_the_isu_basic_header_and_the_as_of_prompt(system: Syncline) -> None:
    fake, slept = loaded(), []
    result = run_stream(system.engine, "hr", connector(fake, RAAS, slept).workers,
                        clock=fixed_clock)
    [request] = fake.requests
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(
        b"ISU_Syncline@acme:isu-pass").decode()
    assert request.url.path == "/ccx/service/customreport2/acme/ISU_Syncline/Syncline_Workers"
    assert dict(request.url.params) == {"format": "json", "Effective_as_of_Date": "2026-07-15"}
    assert (result.accepted, result.rejected, result.error) == (3, 1, None)
    assert result.cursor_after == "2026-07-15T12:00:00Z"
    assert {r.source for r in stored(system)} == {"workday/hr"}


def test_a_second_read_of_an_unchanged_report_is_all_duplicates(system: Syncline) -> None:
    fake, slept = loaded(), []
    c = connector(fake, RAAS, slept)
    run_stream(system.engine, "hr", c.workers, clock=fixed_clock)
    again = run_stream(system.engine, "hr", c.workers, clock=fixed_clock)
    assert (again.accepted, again.duplicates) == (0, 4)


def test_a_wrong_password_is_401_and_the_run_fails_without_a_cursor(system: Syncline) -> None:
    fake, slept = loaded(), []
    c = connector(fake, dict(RAAS, password="${env:WD_SECRET}"), slept)
    result = run_stream(system.engine, "hr", c.workers, clock=fixed_clock)
    assert "HTTP 401" in (result.error or "") and "permanent" in (result.error or "")
    assert result.cursor_after is None and stored(system) == []


def test_an_empty_report_stores_nothing_and_records_the_read(system: Syncline) -> None:
    fake, slept = FakeWorkday(), []
    result = run_stream(system.engine, "hr", connector(fake, RAAS, slept).workers,
                        clock=fixed_clock)
    assert result.ok and result.accepted == 0 and result.cursor_after == "2026-07-15T12:00:00Z"


def test_429_waits_retry_after_and_5xx_backs_off_with_the_injected_sleep(
        system: Syncline) -> None:
    fake, slept = loaded(), []
    fake.throttle(2, retry_after="7")
    fake.fail(1, 503)
    result = run_stream(system.engine, "hr", connector(fake, RAAS, slept).workers,
                        clock=fixed_clock)
    assert result.ok and result.accepted == 3
    assert slept == [7.0, 7.0, 2.0] and len(fake.requests) == 4


def test_rest_gets_a_token_then_pages_limit_offset_to_the_short_page(system: Syncline) -> None:
    rows = [*fixture_rows()[:2], dict(fixture_rows()[0], Employee_ID="WD-21009")]
    fake, slept = loaded(rows), []
    result = run_stream(system.engine, "hr", connector(fake, REST, slept).workers,
                        clock=fixed_clock)
    token, *pages = fake.requests
    assert token.url.path == "/ccx/oauth2/acme/token"
    assert b"grant_type=refresh_token" in token.content
    assert [dict(p.url.params) for p in pages] == [{"limit": "2", "offset": "0"},
                                                   {"limit": "2", "offset": "2"}]
    assert {p.headers["Authorization"] for p in pages} == {"Bearer wd-access-1"}
    assert result.ok and result.accepted == 4  # three upserted, one terminated


def test_an_expired_token_is_refreshed_once_and_the_request_sent_again(
        system: Syncline) -> None:
    fake, slept = loaded(fixture_rows()[:1]), []
    c = connector(fake, REST, slept)
    run_stream(system.engine, "hr", c.workers, clock=fixed_clock)
    fake.expire_tokens()
    result = run_stream(system.engine, "hr", c.workers, clock=fixed_clock)
    assert result.ok and fake.issued == 2
    assert [r.url.path.rsplit("/", 1)[-1] for r in fake.requests] == [
        "token", "workers", "workers", "token", "workers"]


def test_a_failure_on_page_two_keeps_page_one_and_the_cursor_where_it_was(
        system: Syncline) -> None:
    rows = fixture_rows()[:1] + [dict(fixture_rows()[0], Employee_ID=f"WD-3{i}")
                                 for i in range(3)]
    fake, slept = loaded(rows), []
    fake.fail_after(1, 400)
    result = run_stream(system.engine, "hr", connector(fake, REST, slept).workers,
                        clock=fixed_clock)
    assert "HTTP 400" in (result.error or "")
    assert result.accepted == 2 and len(stored(system)) == 2
    with system.engine.connect() as conn:
        assert cursors.read(conn, "hr", "workers") is None
    fake._fail_after = None
    again = run_stream(system.engine, "hr", connector(fake, REST, slept).workers,
                       clock=fixed_clock)
    assert (again.accepted, again.duplicates) == (2, 2)
    assert again.cursor_after == "2026-07-15T12:00:00Z"


def test_check_reads_the_report(system: Syncline) -> None:
    fake, slept = loaded(), []
    check = connector(fake, RAAS, slept).check()
    assert check.ok and "3 rows" in check.detail


def test_settings_problems_are_all_reported() -> None:
    with pytest.raises(ConnectorConfigInvalid) as caught:
        build(ConnectorConfig("hr", "workday", {"roles": {"X": "wizard"}, "source": "soap"}),
              Wiring(env={}))
    assert caught.value.problems == [
        "connector hr: settings.source: one of raas, rest (got 'soap')",
        "connector hr: settings.roles: wizard not Syncline roles (partner, manager, "
        "senior_consultant, consultant, analyst)",
        "connector hr: settings.host: required text",
        "connector hr: settings.tenant: required text",
        "connector hr: settings.username: required text",
        "connector hr: settings.password: secrets are configured as ${env:NAME} or "
        "${file:PATH}, never inline in the file",
        "connector hr: settings.report_owner: required text",
        "connector hr: settings.report_name: required text"]
