"""The console in a real browser (Playwright driving Debian's Chromium) against uvicorn:
sign in, resolve an exception by edit-and-replay and see the invoice appear, follow lineage
from a journal line back to its time entry, and a PMO user cannot close a period.

Skipped with the reason when Playwright or /usr/bin/chromium is missing, except under
CI=true, where they must be there (`.ci/run` installs Chromium). Screenshots of each page
go to ``$SYNCLINE_CONSOLE_SCREENSHOTS`` when set (docs/console: the README shows them)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from syncline.api.app import create_app
from syncline.bootstrap import Syncline
from syncline.services.billing.run import run_billing
from tests.conftest import fixed_clock, in_ci
from tests.console.firm import Firm, small_firm

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _browser_or_skip() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is not installed (pip install playwright==1.65.2)"
    else:
        if Path(CHROMIUM).exists() or shutil.which("chromium"):
            return sync_playwright
        missing = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if in_ci():
        pytest.fail(f"browser tests are required under CI: {missing}")
    pytest.skip(missing)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_serving(system: Syncline) -> Iterator[str]:
    """``system``'s app served by uvicorn in a thread on a free local port: its base URL,
    the server stopped when the block ends."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(system, background=False),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Firm, str]]:
    firm = small_firm(tmp_path)
    try:
        with uvicorn_serving(firm.system) as base:
            yield firm, base
    finally:
        from syncline.workflows import delivery

        delivery.shutdown()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM,
                                    args=ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 860})
        yield context.new_page()
        browser.close()


def _shot(page: Any, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("SYNCLINE_CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/console/")
    assert page.url.endswith("/console/login")
    page.fill("#api_key", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/exceptions")


def test_sign_in_replay_and_lineage(served: tuple[Firm, str], page: Any,
                                    tmp_path: Path) -> None:
    firm, base = served
    page.goto(f"{base}/console/login")
    _shot(page, "login", tmp_path)
    _sign_in(page, base, firm.keys["integration"])
    # HTMX: changing a filter swaps the table in place and keeps the URL shareable
    page.select_option("select[name=domain]", "it")
    page.wait_for_url("**domain=it**")
    assert page.locator("table.queue tbody tr").count() == 1
    _shot(page, "exceptions", tmp_path)
    page.click("table.queue >> text=message.rejected")
    editor = page.locator("#data")
    data = json.loads(editor.input_value())
    assert data["hours"] == "seven"
    _shot(page, "exception", tmp_path)
    editor.fill(json.dumps({**data, "hours": "seven hours"}))
    page.click("button:has-text('Replay')")
    assert "Edit refused" in page.locator(".flash").inner_text()  # the schema said no
    page.locator("#data").fill(json.dumps({**data, "hours": "7"}))
    page.fill("#reason", "hours in digits")
    page.click("button:has-text('Replay')")
    assert ": applied" in page.locator(".flash").inner_text()
    assert page.locator(".status-resolved").count() == 1
    # the month's billing run; the replayed entry is on the invoice
    s = firm.system
    number = run_billing(s.engine, "2026-01", s.ref, s.charts, fixed_clock()).invoices[0]
    page.click("nav >> text=Lineage")
    page.fill("#q", "T-2")
    page.click("button:has-text('Trace')")
    assert page.locator(f"#invoices >> text={number}").count() == 1
    # from the invoice to its journal entry, and from the journal line back to the time
    page.click(f"#invoices >> text={number}")
    journal = page.locator("#journal tbody tr td a").first
    journal_id = journal.inner_text()
    assert journal_id.startswith("jnl_")
    journal.click()
    page.wait_for_url(f"**q={journal_id}")
    entries = page.locator("#work tbody tr td:first-child").all_inner_texts()
    assert sorted(entries) == ["T-1", "T-2"]
    _shot(page, "lineage", tmp_path)
    page.click("#work >> text=T-2")
    assert "time T-2" in page.locator("main").inner_text()


def test_a_pmo_user_cannot_close(served: tuple[Firm, str], page: Any, tmp_path: Path) -> None:
    firm, base = served
    _sign_in(page, base, firm.keys["pmo"])
    page.goto(f"{base}/console/close?period=2026-01&entity=US01")
    assert page.locator("#close-button").is_disabled()
    assert page.locator("#period-status").inner_text() == "open"
    _shot(page, "close", tmp_path)
    csrf = page.locator("input[name=csrf]").first.input_value()
    denied = page.request.post(f"{base}/console/close", form={
        "csrf": csrf, "period": "2026-01", "entity": "US01"})
    assert denied.status == 403
    page.reload()
    assert page.locator("#period-status").inner_text() == "open"
