"""The close cockpit: status, checks and runs for everyone; the Close action for finance only."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.services.governance.audit import entries
from syncline.services.ledger.periods import status_of
from syncline.workflows import delivery
from tests.console.firm import csrf_of, sign_in, small_firm

FORM = {"period": "2026-01", "entity": "US01"}


def test_pmo_reads_the_cockpit_but_cannot_close_and_finance_closes(tmp_path: Path) -> None:
    firm = small_firm(tmp_path)
    try:
        with TestClient(create_app(firm.system, background=False)) as http:
            sign_in(http, firm.keys["pmo"])
            page = http.get("/console/close", params=FORM)
            assert page.status_code == 200 and 'id="period-status">open<' in page.text
            assert "Close reconciliation" in page.text and "<th>status</th>" in page.text
            assert 'id="close-button" disabled' in page.text and "needs the finance" in page.text
            denied = http.post("/console/close", data={**FORM, "csrf": csrf_of(page.text)})
            assert denied.status_code == 403 and "needs the role finance" in denied.text
            assert http.get("/console/close", params={"period": "2026-13"}).status_code == 422
            sign_in(http, firm.keys["finance"])
            page = http.get("/console/close", params=FORM)
            assert 'id="close-button" >' in page.text
            done = http.post("/console/close", data={**FORM, "csrf": csrf_of(page.text)})
            assert done.status_code == 200 and "Close of US01 2026-01" in done.text
            assert 'id="period-status">closed<' in done.text  # finance closes, controller locks
            assert "finance-user (finance) · close: open → closed" in done.text
            steps = done.text.split('id="close-steps"')[1].split("</table>")[0]
            assert [line.split("<td>")[1].split("</td>")[0] for line in steps.split("<tr>")
                    if "<td>" in line] == ["cut-off", "billing", "recognition", "accrual",
                                           "reclassification", "intercompany",
                                           "fx-revaluation", "erp-journals", "reconciliation",
                                           "lock"]
        with firm.system.engine.connect() as conn:
            assert status_of(conn, "US01", "2026-01").value == "closed"
            runs = entries(conn, action="close.run")
        assert [(r["actor"], r["subject"]) for r in runs] == [
            ("finance-user", "close/US01/2026-01")]
    finally:
        delivery.shutdown()
