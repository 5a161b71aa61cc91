"""The lineage page renders services/lineage.py's chain and links each id to its own chain."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.services.billing.run import run_billing
from tests.conftest import fixed_clock
from tests.console.firm import sign_in, small_firm


def test_search_an_invoice_and_follow_it_to_its_time_entry(tmp_path: Path) -> None:
    firm = small_firm(tmp_path)
    s = firm.system
    number = run_billing(s.engine, "2026-01", s.ref, s.charts, fixed_clock()).invoices[0]
    with TestClient(create_app(s, background=False)) as http:
        assert http.get(f"/console/lineage?q={number}",
                        follow_redirects=False).status_code == 303  # signed in first
        sign_in(http, firm.keys["pmo"])
        page = http.get("/console/lineage", params={"q": number})
        assert page.status_code == 200
        assert f"invoice <b>{number}</b>" in page.text
        assert 'href="/console/lineage?q=T-1"' in page.text  # the item's source record
        assert "T-2" not in page.text.split('id="work"')[1].split("</section>")[0]
        assert "erp.invoice.post" in page.text and "deal/D-1" in page.text
        entry = http.get("/console/lineage", params={"q": "T-1"})
        assert "time <b>T-1</b>" in entry.text and number in entry.text
        missing = http.get("/console/lineage", params={"q": "INV-404"})
        assert missing.status_code == 404 and "Nothing known as" in missing.text
