"""The close cockpit's differences by cause with their drill-down, and its Lock and Reopen
actions: the period service's rules (controller and a reason), audited; PMO and finance
alone are refused (403)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from syncline.services.governance.audit import entries
from syncline.services.ledger.periods import status_of
from syncline.services.messaging.inbox import receive_many
from syncline.workflows import delivery
from tests.builders import time_entry
from tests.conftest import fixed_clock
from tests.console.firm import Firm, csrf_of, sign_in, small_firm

FORM = {"period": "2026-01", "entity": "US01"}


@pytest.fixture
def firm(tmp_path: Path) -> Iterator[Firm]:
    """The small firm plus T-3, 5 h by W-9 whom HR never sent (parked), and T-5, 3 h
    sent "pending" (refused as not approved: an exception)."""
    made = small_firm(tmp_path)
    with made.system.engine.begin() as conn:
        receive_many(conn, [time_entry("T-3", worker_id="W-9", hours="5"),
                            time_entry("T-5", hours="3", status="pending")], now=fixed_clock())
    made.system.process()
    yield made
    delivery.shutdown()


def test_differences_by_cause_drill_down_to_their_rows(http: TestClient, firm: Firm) -> None:
    """PSA approved 6 (T-1) + 5 (T-3) + 3 (T-5) = 14 h; Syncline recorded 6: two causes,
    parked (T-3, −5 h) and time.not_approved (T-5, −3 h), each one row."""
    sign_in(http, firm.keys["pmo"])
    page = http.get("/console/close", params=FORM).text
    causes = page.split('id="causes"')[1].split("</table>")[0]
    assert "<td>parked</td><td>hours</td><td class=\"num\">1</td><td class=\"num\">-5</td>" \
        in causes
    assert "<td>time.not_approved</td><td>hours</td><td class=\"num\">1</td>" \
        "<td class=\"num\">-3</td>" in causes
    drill = http.get("/console/close/differences", params={
        **FORM, "check": "PSA approved = recorded hours", "cause": "parked"})
    rows = drill.text.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 1 and 'href="/console/lineage?q=T-3"' in rows
    assert '<td class="num">5</td><td class="num">0</td><td class="num">-5</td>' in rows
    assert "worker W-9 is not synced from HR yet" in rows
    partial = http.get("/console/close/differences", params={
        **FORM, "check": "PSA approved = recorded hours", "cause": "time.not_approved"},
        headers={"HX-Request": "true"}).text
    assert "<html" not in partial and 'href="/console/exceptions/exc_' in partial
    assert "T-5" in partial and "T-3" not in partial


def test_lock_and_reopen_need_controller_and_a_reason_and_are_audited(
        http: TestClient, firm: Firm) -> None:
    sign_in(http, firm.keys["finance"])
    page = http.get("/console/close", params=FORM).text
    assert 'id="lock-button" class="secondary" disabled' in page and 'id="lock-denied"' in page
    token = csrf_of(page)
    http.post("/console/close", data={**FORM, "csrf": token})  # finance closes
    denied = http.post("/console/close/period",
                       data={**FORM, "csrf": token, "action": "reopen", "reason": "x"})
    assert denied.status_code == 403 and "needs the role controller" in denied.text
    sign_in(http, firm.keys["pmo"])
    token = csrf_of(http.get("/console/close", params=FORM).text)
    assert http.post("/console/close/period", data={
        **FORM, "csrf": token, "action": "lock", "reason": "x"}).status_code == 403
    sign_in(http, firm.keys["controller"])
    page = http.get("/console/close", params=FORM).text
    assert 'id="period-status">closed<' in page and 'id="reopen-button" class="secondary" >' \
        in page
    token = csrf_of(page)
    no_reason = http.post("/console/close/period",
                          data={**FORM, "csrf": token, "action": "reopen", "reason": " "})
    assert "Refused: reopening a period needs a reason" in no_reason.text
    assert 'id="period-status">closed<' in no_reason.text
    reopened = http.post("/console/close/period", data={
        **FORM, "csrf": token, "action": "reopen", "reason": "T-3's worker arrived"})
    assert 'id="period-status">open<' in reopened.text
    assert "US01 2026-01 is open (reopen by controller-user)" in reopened.text
    http.post("/console/close", data={**FORM, "csrf": token})
    locked = http.post("/console/close/period", data={
        **FORM, "csrf": token, "action": "lock", "reason": "signed off"})
    assert 'id="period-status">locked<' in locked.text
    assert 'id="reopen-button" class="secondary" disabled' in locked.text
    again = http.post("/console/close/period", data={
        **FORM, "csrf": token, "action": "reopen", "reason": "oops"})
    assert "Refused:" in again.text and 'id="period-status">locked<' in again.text
    with firm.system.engine.connect() as conn:
        assert status_of(conn, "US01", "2026-01").value == "locked"
        logged = [(e["actor"], e["action"], e["reason"]) for e in entries(conn)
                  if e["action"] in ("period.reopen", "period.lock")]
    assert logged == [("controller-user", "period.reopen", "T-3's worker arrived"),
                      ("controller-user", "period.lock", "signed off")]


def test_a_parked_entry_behind_a_difference_has_its_lineage(http: TestClient,
                                                            firm: Firm) -> None:
    """T-3 is not recorded (parked): lineage finds its contract through its message's
    project and lists the message, parked, with its reason."""
    sign_in(http, firm.keys["pmo"])
    page = http.get("/console/lineage", params={"q": "T-3"})
    assert page.status_code == 200 and "C-1" in page.text
    assert "time/T-3" in page.text and "parked" in page.text
