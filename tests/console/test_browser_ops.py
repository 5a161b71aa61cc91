"""The operational pages in a real browser (Playwright driving Debian's Chromium) against
uvicorn: assign an exception and filter the inbox by owner; drill down from a
reconciliation difference to its rows and on to the exception behind one; lock and reopen
a period as a controller (PMO refused); the connector page shows a dead letter and its
retry delivers it.

Skipped with the reason when Playwright or /usr/bin/chromium is missing, except under
CI=true (as test_browser.py, whose browser fixture and helpers these reuse). Screenshots go
to ``$SYNCLINE_CONSOLE_SCREENSHOTS`` when set (docs/console)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from syncline.services.messaging.inbox import receive_many
from tests.builders import time_entry
from tests.conftest import fixed_clock
from tests.console.firm import Firm, connected_firm, small_firm
from tests.console.test_browser import _shot, _sign_in, uvicorn_serving
from tests.console.test_browser import page as page


@pytest.fixture
def serve() -> Iterator[Callable[[Firm], str]]:
    """Serve a firm's app with uvicorn in a thread; its base URL."""
    with ExitStack() as servers:
        yield lambda firm: servers.enter_context(uvicorn_serving(firm.system))
    from syncline.workflows import delivery

    delivery.shutdown()


def _with_differences(tmp_path: Path) -> Firm:
    """The small firm plus T-3 (5 h by W-9, whom HR never sent: parked) and T-5 (3 h sent
    "pending": refused as not approved, an exception)."""
    firm = small_firm(tmp_path)
    with firm.system.engine.begin() as conn:
        receive_many(conn, [time_entry("T-3", worker_id="W-9", hours="5"),
                            time_entry("T-5", hours="3", status="pending")], now=fixed_clock())
    firm.system.process()
    return firm


def test_assign_an_exception_and_filter_by_owner(serve: Callable[[Firm], str], page: Any,
                                                 tmp_path: Path) -> None:
    firm = small_firm(tmp_path)
    base = serve(firm)
    _sign_in(page, base, firm.keys["pmo"])
    row = page.locator("table.queue tbody tr").first
    assert row.locator("td.customer").inner_text() == "Acme Corp"
    assert row.locator("td.contract").inner_text() == "C-1"
    assert row.locator("td.amount").inner_text() == "seven h"
    assert row.locator("td.assignee").inner_text() == "—"
    page.click("table.queue >> text=message.rejected")
    page.click("#take-button")
    assert "assigned to pmo-user" in page.locator(".flash").inner_text()
    assert page.locator("#assignee").inner_text().startswith("pmo-user")
    page.click("nav >> text=Exceptions")
    page.select_option("select[name=owner]", "me")  # HTMX swaps the table, URL shareable
    page.wait_for_url("**owner=me**")
    assert page.locator("table.queue tbody tr").count() == 1
    assert page.locator("td.assignee").first.inner_text() == "pmo-user"
    _shot(page, "exceptions-assigned", tmp_path)
    page.select_option("select[name=owner]", "none")
    page.wait_for_url("**owner=none**")
    page.wait_for_selector("text=No exceptions match.")
    assert page.locator("table.queue").count() == 0


def test_drill_down_from_a_difference(serve: Callable[[Firm], str], page: Any,
                                      tmp_path: Path) -> None:
    firm = _with_differences(tmp_path)
    base = serve(firm)
    _sign_in(page, base, firm.keys["pmo"])
    page.goto(f"{base}/console/close?period=2026-01&entity=US01")
    parked = page.locator("#causes tr", has_text="parked")
    assert parked.locator("td").nth(4).inner_text() == "-5"
    parked.locator("a.drill-link").click()  # HTMX: the rows appear below, no page load
    page.wait_for_selector("#drill-down table#drill")
    assert page.url.endswith("/console/close?period=2026-01&entity=US01")
    rows = page.locator("#drill tbody tr")
    assert rows.count() == 1 and "T-3" in rows.first.inner_text()
    assert "worker W-9 is not synced from HR yet" in rows.first.inner_text()
    _shot(page, "close-drill-down", tmp_path)
    page.locator("#causes tr", has_text="time.not_approved").locator("a.drill-link").click()
    page.wait_for_selector("#drill >> text=T-5")
    page.click("#drill a:has-text('exception')")
    page.wait_for_url("**/console/exceptions/exc_**")
    assert "time.not_approved" in page.locator("h1").inner_text()
    page.go_back()
    page.locator("#causes tr", has_text="parked").locator("a.drill-link").click()
    page.click("#drill >> text=T-3")
    page.wait_for_url("**/console/lineage?q=T-3")
    assert "C-1" in page.locator("main").inner_text()


def test_lock_then_reopen_as_controller_and_pmo_refused(serve: Callable[[Firm], str],
                                                         page: Any, tmp_path: Path) -> None:
    """Finance closes the month (no lock: that needs controller); a controller reopens it
    with a reason; finance closes it again (through the API: POST /v1/periods/…/close);
    the controller locks it with a reason, after which Reopen is disabled. PMO is refused."""
    firm = small_firm(tmp_path)
    base = serve(firm)
    cockpit = f"{base}/console/close?period=2026-01&entity=US01"
    _sign_in(page, base, firm.keys["pmo"])
    page.goto(cockpit)
    assert page.locator("#lock-button").is_disabled()
    assert page.locator("#reopen-button").is_disabled()
    csrf = page.locator("input[name=csrf]").first.input_value()
    denied = page.request.post(f"{base}/console/close/period", form={
        "csrf": csrf, "period": "2026-01", "entity": "US01", "action": "lock", "reason": "x"})
    assert denied.status == 403
    page.click("button:has-text('Sign out')")
    _sign_in(page, base, firm.keys["finance"])
    page.goto(cockpit)
    page.click("#close-button")
    page.wait_for_selector("#period-status:has-text('closed')")
    assert page.locator("#lock-button").is_disabled()  # finance alone does not lock
    page.click("button:has-text('Sign out')")
    _sign_in(page, base, firm.keys["controller"])
    page.goto(cockpit)
    page.fill("#period_reason", "T-2's hours came in late")
    page.click("#reopen-button")
    page.wait_for_selector("#period-status:has-text('open')")
    assert "is open (reopen by controller-user)" in page.locator(".flash").inner_text()
    closed = page.request.post(f"{base}/v1/periods/US01/2026-01/close",
                               headers={"X-API-Key": firm.keys["finance"]})
    assert closed.status == 200
    page.goto(cockpit)
    page.fill("#period_reason", "signed off by the controller")
    page.click("#lock-button")
    page.wait_for_selector("#period-status:has-text('locked')")
    assert page.locator("#reopen-button").is_disabled()
    changes = page.locator("main").inner_text()
    assert "reopen: closed → open · T-2's hours came in late" in changes
    assert "lock: closed → locked · signed off by the controller" in changes
    _shot(page, "close-locked", tmp_path)


def test_connector_page_shows_a_dead_letter_and_retry_delivers(
        serve: Callable[[Firm], str], page: Any, tmp_path: Path) -> None:
    firm, erp = connected_firm(tmp_path)
    base = serve(firm)
    _sign_in(page, base, firm.keys["finance"])
    page.click("nav >> text=Connectors")
    page.wait_for_url("**/console/connectors")
    dead = page.locator("#dead tbody tr")
    assert dead.count() == 1 and "the subsidiary is inactive" in dead.first.inner_text()
    assert "429 Too Many Requests" in page.locator("#connector-time").inner_text()
    _shot(page, "connectors", tmp_path)
    erp.refusing = False  # the subsidiary was activated in the ERP
    dead.first.locator("button.retry").click()
    assert "retried: delivered" in page.locator("p[role=status]").inner_text()
    assert page.locator("#dead").inner_text().count("No dead letters.") == 1
    assert erp.received and erp.received[0].startswith("out_")


def test_lineage_shows_a_milestones_evidence(serve: Callable[[Firm], str], page: Any,
                                             tmp_path: Path) -> None:
    """A fixed-fee contract whose milestone M-1 was accepted with a signed PDF: searching the
    PDF's document id opens the contract's chain, the document linked from the milestone."""
    from tests.console.firm import INTEGRATION_KEY
    from tests.console.test_milestone_evidence import SIGNED, done, fixed_fee_firm

    system = fixed_fee_firm(tmp_path, done([SIGNED], id_="m1", legacy="C-1-M-1-acceptance.pdf"))
    base = serve(Firm(system, {"integration": INTEGRATION_KEY}))
    _sign_in(page, base, INTEGRATION_KEY)
    page.click("nav >> text=Lineage")
    page.fill("#q", "DOC-88")
    page.click("button:has-text('Trace')")
    evidence = page.locator("#milestones tr", has_text="M-1").locator("td.evidence")
    link = evidence.locator("a")
    assert link.inner_text() == SIGNED["name"] and link.get_attribute("href") == SIGNED["url"]
    assert "C-1-M-1-acceptance.pdf" in evidence.inner_text()
    _shot(page, "lineage-evidence", tmp_path)
