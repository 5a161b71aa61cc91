"""The KPI dashboard and a contract's page in a real browser (Playwright on Debian's Chromium,
skipped or required as in test_browser.py), against a small demo firm: `syncline demo
--customers 4 --workers 8 --months 3 --data-faults` (seed 7), built once for the module in a
subprocess and served by uvicorn with the real clock. The dashboard draws its charts with the
firm's data and opens a definition; a contract's schedule links its amounts to their
explanations; the what-if of a repriced retainer shows the schedule before and after.
Screenshots go to ``$SYNCLINE_CONSOLE_SCREENSHOTS`` when set (docs/console)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.governance.keys import create_key
from tests.console.test_browser import _shot, _sign_in, uvicorn_serving
from tests.console.test_browser import page as page  # the browser fixture

SRC = Path(__file__).parents[2] / "src"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, a finance key) of the small demo firm, served."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    made = subprocess.run([sys.executable, "-m", "syncline", "demo", "--customers", "4",
                           "--workers", "8", "--months", "3", "--data-faults", "--json",
                           "--database-url", url], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert made.returncode == 0, made.stderr[-2000:]
    system = bootstrap(Settings(database_url=url), durable=False)
    with system.engine.begin() as conn:
        key, _ = create_key(conn, "finance-user", ["finance"], by="test",
                            now=datetime.now(UTC))
    try:
        with uvicorn_serving(system) as base:
            yield base, key
    finally:
        system.engine.dispose()


DRAWN = """() => Array.from(document.querySelectorAll('canvas[data-kpi]')).map(c => {
  const chart = Chart.getChart(c);
  return [c.dataset.kpi, chart ? chart.data.datasets.reduce(
    (n, d) => n + d.data.filter(v => v !== null).length, 0) : -1];
})"""


def test_the_dashboard_draws_the_demo_firm_and_opens_a_definition(
        demo: tuple[str, str], page: Any, tmp_path: Path) -> None:
    base, key = demo
    _sign_in(page, base, key)
    page.click("nav >> text=KPIs")
    page.wait_for_selector("body[data-charts-ready=true]")
    drawn = dict(page.evaluate(DRAWN))
    # every canvas is a chart with points; the demo invoices, recognises and raises
    # exceptions, so these have data whatever the day the test runs
    assert all(points > 0 for points in drawn.values()), drawn
    for kpi in ("time_to_invoice_latency", "revenue_waterfall", "rpo", "exception_aging",
                "straight_through_share", "dso"):
        assert drawn.get(kpi, 0) > 0, kpi
    definition = page.locator("#kpi-time_to_invoice_latency details.definition")
    assert definition.get_attribute("open") is None
    text = definition.locator("p")
    assert not text.is_visible()
    definition.locator("summary").click()
    assert text.is_visible() and "Approval-to-invoice" in text.inner_text()
    _shot(page, "kpis", tmp_path)
    page.select_option("select[name=entity]", "US01")
    page.click("button:has-text('Show')")
    page.wait_for_url("**entity=US01**")
    page.wait_for_selector("body[data-charts-ready=true]")
    assert dict(page.evaluate(DRAWN))["revenue_waterfall"] > 0


def test_a_contract_s_schedule_and_the_what_if_of_an_amendment(
        demo: tuple[str, str], page: Any, tmp_path: Path) -> None:
    """C-1005: the demo's one retainer (DE01, EUR 2026-03-16 .. 2027-03-15). Repriced by
    10 % from 2026-05-15, it is a series whose remaining months are distinct: prospective,
    and the months from May change while March and April do not."""
    base, key = demo
    _sign_in(page, base, key)
    page.click("nav >> text=Contracts")
    page.fill("#q", "retainer")
    page.click("button:has-text('Search')")
    rows = page.locator("#contracts tbody tr")
    assert rows.count() == 1
    rows.locator("a").click()
    page.wait_for_url("**/console/contracts/C-1005**")
    schedule = page.locator("#schedule-table tbody tr")
    assert schedule.count() >= 1
    march = page.locator("#schedule-table a.explain", has_text="").nth(1)  # 2026-03's amount
    march.click()
    opened = page.locator("details.explanation[open]")
    opened.first.wait_for()  # (the explanation is fetched and opened after the click)
    assert opened.count() == 1 and "revenue C-1005-L1 2026-03" in opened.inner_text()
    _shot(page, "contract", tmp_path)
    line = page.locator("#wi-line option").nth(1)
    fee = line.inner_text().split("(")[1].rstrip(")")
    page.select_option("#wi-line", index=1)
    page.fill("#wi-price", str(round(float(fee) * 1.1, 2)))
    page.fill("#wi-effective", "2026-05-15")
    page.click("#whatif-button")
    answer = page.locator("#whatif-answer")
    answer.wait_for()
    assert "Treatment: termination and new contract" in answer.inner_text()
    cells = {r.locator("td").first.inner_text().split()[0]: r.locator("td").last.inner_text()
             for r in page.locator("#whatif-periods tbody tr").all()}
    assert cells["2026-03"] == "0.00" and cells["2026-04"] == "0.00"
    assert cells["2026-06"] != "0.00" and not cells["2026-06"].startswith("-")
    assert "/whatif" not in page.url  # HTMX: swapped into the page in place
    _shot(page, "contract-whatif", tmp_path)
    page.fill("#wi-price", "ten")  # refused with its reason, in place
    page.click("#whatif-button")
    refused = page.locator("#whatif-result .flash.error")
    refused.wait_for()
    assert "new price must be an amount" in refused.inner_text()
