"""The console's sign-in and exceptions inbox over HTTP (TestClient): sessions, CSRF, roles,
edit-and-replay and skip, each audited with the signed-in principal."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.services.governance.audit import entries
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from tests.builders import time_entry
from tests.conftest import fixed_clock
from tests.console.firm import Firm, csrf_of, sign_in


def _open_one(firm: Firm) -> str:
    with firm.system.engine.connect() as conn:
        found = [e for e in list_exceptions(conn) if e.inbox_id]
    assert len(found) == 1, found
    return found[0].id


def test_pages_need_a_session_and_a_known_key(http: TestClient, firm: Firm) -> None:
    r = http.get("/console/exceptions", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    form = http.get("/console/login")
    bad = http.post("/console/login", data={"csrf": csrf_of(form.text), "api_key": "nope"})
    assert bad.status_code == 401 and "Unknown, expired or revoked" in bad.text
    # no CSRF token: refused before the key is even looked at
    assert http.post("/console/login", data={"api_key": firm.keys["pmo"]}).status_code == 403
    sign_in(http, firm.keys["pmo"])
    page = http.get("/console/exceptions")
    assert page.status_code == 200 and "pmo-user" in page.text
    assert "syncline_console" in http.cookies and firm.keys["pmo"] not in str(http.cookies)
    assert http.get("/console/static/htmx.min.js").text.startswith("var htmx=")
    http.post("/console/logout", data={"csrf": csrf_of(page.text)})
    assert http.get("/console/exceptions", follow_redirects=False).status_code == 303


def test_inbox_filters_group_and_shows_business_context(http: TestClient, firm: Firm) -> None:
    sign_in(http, firm.keys["auditor"])
    page = http.get("/console/exceptions").text
    assert "time/T-2 · inbox inb_" in page and "data.hours" in page and "message.rejected" in page
    assert "No exceptions match." in http.get("/console/exceptions?domain=finance").text
    it = http.get("/console/exceptions?domain=it&group=code").text
    assert '<h2 class="group">' in it and "1 exception(s)" in it
    assert "No exceptions match." in http.get("/console/exceptions?code=other.code").text
    partial = http.get("/console/exceptions?domain=it",
                       headers={"HX-Request": "true", "HX-Target": "queue"}).text
    assert "<html" not in partial and "<table" in partial


def test_edit_and_replay_applies_the_message_and_is_audited(http: TestClient,
                                                            firm: Firm) -> None:
    exc_id = _open_one(firm)
    sign_in(http, firm.keys["integration"])
    detail = http.get(f"/console/exceptions/{exc_id}").text
    assert "&#34;seven&#34;" in detail or "&quot;seven&quot;" in detail
    token = csrf_of(detail)
    found = re.search(r"<textarea[^>]*>(.*?)</textarea>", detail, re.S)
    assert found, "no JSON editor on the page"
    data = json.loads(html.unescape(found.group(1)))  # the stored message's data
    assert data["hours"] == "seven"
    # an edit the schema refuses: nothing changes, the page says why
    r = http.post(f"/console/exceptions/{exc_id}/replay",
                  data={"csrf": token, "data": json.dumps({**data, "hours": "many"}),
                        "reason": "typo"})
    assert "Edit refused" in r.text and "open" in r.text
    r = http.post(f"/console/exceptions/{exc_id}/replay",
                  data={"csrf": token, "data": json.dumps({**data, "hours": "7"}),
                        "reason": "seven hours, in digits"})
    assert r.status_code == 200 and ": applied" in r.text, r.text
    with firm.system.engine.connect() as conn:
        assert not [e for e in list_exceptions(conn) if e.id == exc_id]
        logged = [e for e in entries(conn, action="message.replay")]
    assert logged and logged[-1]["actor"].startswith("env:")
    assert logged[-1]["reason"] == "seven hours, in digits"


def test_skip_needs_a_reason_and_a_role_that_acts(http: TestClient, firm: Firm) -> None:
    exc_id = _open_one(firm)
    sign_in(http, firm.keys["auditor"])
    token = csrf_of(http.get(f"/console/exceptions/{exc_id}").text)
    denied = http.post(f"/console/exceptions/{exc_id}/skip",
                       data={"csrf": token, "reason": "dup"})
    assert denied.status_code == 403 and "needs the role" in denied.text
    sign_in(http, firm.keys["pmo"])
    token = csrf_of(http.get(f"/console/exceptions/{exc_id}").text)
    assert http.post(f"/console/exceptions/{exc_id}/skip",
                     data={"reason": "dup"}).status_code == 403  # no CSRF token
    r = http.post(f"/console/exceptions/{exc_id}/skip", data={"csrf": token, "reason": ""})
    assert "Skipping needs a reason" in r.text
    r = http.post(f"/console/exceptions/{exc_id}/skip",
                  data={"csrf": token, "reason": "sent again as T-3"})
    assert "skipped" in r.text
    with firm.system.engine.connect() as conn:
        skipped = list_exceptions(conn, status="skipped")
        logged = entries(conn, action="exception.skip")
    assert [e.id for e in skipped] == [exc_id]
    assert logged[-1]["actor"] == "pmo-user" and logged[-1]["reason"] == "sent again as T-3"


def test_bulk_skip_and_retry_each_audited(http: TestClient, firm: Firm) -> None:
    with firm.system.engine.begin() as conn:
        receive_many(conn, [time_entry("T-4", hours="x"), time_entry("T-5", hours="y")],
                     now=fixed_clock())
    with firm.system.engine.connect() as conn:
        ids = [e.id for e in list_exceptions(conn)]
    assert len(ids) == 3
    sign_in(http, firm.keys["auditor"])
    page = http.get("/console/exceptions?domain=it").text
    assert 'name="ids"' not in page  # a reader gets no checkboxes
    assert http.post("/console/exceptions/bulk", data={
        "csrf": csrf_of(page), "action": "skip", "ids": ids, "reason": "x"}).status_code == 403
    sign_in(http, firm.keys["integration"])
    page = http.get("/console/exceptions?domain=it").text
    assert page.count('name="ids"') == 3
    token = csrf_of(page)
    r = http.post("/console/exceptions/bulk", data={
        "csrf": token, "action": "skip", "ids": ids[:2], "reason": ""})
    assert "give a reason to skip" in r.text
    r = http.post("/console/exceptions/bulk", data={
        "csrf": token, "action": "skip", "ids": ids[:2], "reason": "test data",
        "back": "https://evil.example/"})
    assert r.url.path == "/console/exceptions" and "Skip of 2: 2 skipped" in r.text
    r = http.post("/console/exceptions/bulk", data={
        "csrf": token, "action": "retry", "ids": ids, "back": "/console/exceptions?status=all"})
    assert "Retry of 3: 2 not open, 1 rejected" in r.text  # still invalid: stays open
    with firm.system.engine.connect() as conn:
        assert [e.id for e in list_exceptions(conn)] == ids[2:]
        assert len(entries(conn, action="exception.skip")) == 2
        assert len(entries(conn, action="message.replay")) == 1


def test_the_session_cookie_is_http_only_strict_and_secure_when_asked(
        firm: Firm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCLINE_CONSOLE_SECURE_COOKIE", "true")
    with TestClient(create_app(firm.system, background=False),
                    base_url="https://testserver") as client:
        form = client.get("/console/login")
        r = client.post("/console/login", data={"csrf": csrf_of(form.text),
                                                "api_key": firm.keys["pmo"]},
                        follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert r.status_code == 303 and "syncline_console=" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    assert "path=/console" in cookie
