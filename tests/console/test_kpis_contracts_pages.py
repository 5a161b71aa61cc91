"""The KPI dashboard and the contracts pages over HTTP (the browser tests draw them): every
reader role sees them, the filters are checked, a what-if stores nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from syncline.adapters.db.revenue_tables import contract_amendments
from syncline.api.app import create_app
from syncline.services.kpis import DEFINITIONS
from syncline.services.kpis.series import CHARTS
from tests.builders import time_entry
from tests.console.firm import INTEGRATION_KEY, sign_in, small_firm

DATA = re.compile(r'<script type="application/json" id="kpi-data">(.*?)</script>', re.S)


def test_the_dashboard_shows_every_kpi_with_its_definition(tmp_path: Path) -> None:
    firm = small_firm(tmp_path)
    with TestClient(create_app(firm.system, background=False)) as http:
        assert http.get("/console/kpis", follow_redirects=False).status_code == 303
        for role in ("pmo", "finance", "auditor"):
            sign_in(http, firm.keys[role])
            page = http.get("/console/kpis", params={"first": "2026-01", "last": "2026-07"})
            assert page.status_code == 200, page.text
        for kpi, title, _, _ in CHARTS:
            assert f'id="kpi-{kpi}"' in page.text and title in page.text
            assert f'id="def-{kpi}"' in page.text
        # the definition is the service's text (autoescaped in the page)
        assert "Approval-to-invoice: calendar days" in page.text
        assert DEFINITIONS["straight_through_share"].split(" — ")[0] in page.text
        charts = {c["kpi"]: c for c in json.loads(DATA.search(page.text).group(1))}
        assert charts["straight_through_share"]["months"][-1] == "2026-07"
        # July: 3 messages applied untouched of 4 processed (T-2 rejected: an exception)
        assert charts["straight_through_share"]["series"] == [
            {"label": "firm-wide", "stack": "", "values": [None] * 6 + ["75.00"]}]
        assert '<script src="/console/static/vendor/chart.umd.min.js"' in page.text
        assert http.get("/console/static/vendor/chart.umd.min.js").status_code == 200
        for bad in ({"first": "2026-05", "last": "2026-01"}, {"first": "2026-5"},
                    {"entity": "XX99"}):
            assert http.get("/console/kpis", params=bad).status_code == 422, bad
        us01 = http.get("/console/kpis", params={"entity": "US01"})
        assert us01.status_code == 200 and "<option selected>US01</option>" in us01.text


def test_contracts_list_search_schedule_and_what_if(tmp_path: Path) -> None:
    """C-1 (T&M, 2026-01-01 .. 12-31). The what-if adds a distinct line L9 of 1,840.00 at
    its SSP from 07-01: a separate contract recognised by day over 184 days = 10.00 a day,
    so July gains 31 × 10 = 310.00 (tests/services/test_amendment_whatif.py)."""
    firm = small_firm(tmp_path)
    with TestClient(create_app(firm.system, background=False)) as http:
        assert http.get("/console/contracts", follow_redirects=False).status_code == 303
        sign_in(http, firm.keys["pmo"])
        listed = http.get("/console/contracts")
        assert listed.status_code == 200 and 'href="/console/contracts/C-1"' in listed.text
        assert "Acme Corp" in http.get("/console/contracts", params={"q": "acme"}).text
        assert "No contract matches" in http.get("/console/contracts", params={"q": "zz"}).text
        page = http.get("/console/contracts/C-1")
        assert page.status_code == 200
        assert 'id="schedule-table"' in page.text and 'id="statement-figures"' in page.text
        assert "Revenue recognized in the month" in page.text
        assert http.get("/console/contracts/C-404").status_code == 404
        assert http.get("/console/contracts/C-1", params={"period": "2026-1"}).status_code == 422
        with firm.system.engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(contract_amendments)).scalar()
        form = {"effective": "2026-07-01", "add_line": "L9", "add_amount": "1840.00",
                "add_distinct": "yes", "add_ssp": "yes"}
        partial = http.get("/console/contracts/C-1/whatif", params=form,
                           headers={"HX-Request": "true"})
        assert partial.status_code == 200 and "<html" not in partial.text
        assert "Treatment: separate contract" in partial.text
        july = re.search(r"<td>2026-07.*?</tr>", partial.text, re.S)
        assert july and '<td class="num pos">310.00</td>' in july.group(0)
        whole = http.get("/console/contracts/C-1/whatif", params=form)
        assert whole.status_code == 200 and "<html" in whole.text
        assert 'id="whatif-answer"' in whole.text
        refused = http.get("/console/contracts/C-1/whatif", params={"line": "L7", "price": "1"},
                           headers={"HX-Request": "true"})
        assert refused.status_code == 422 and "not on contract C-1" in refused.text
        bad = http.get("/console/contracts/C-1/whatif", params={"effective": "July"},
                       headers={"HX-Request": "true"})
        assert bad.status_code == 422 and "effective date must be a date" in bad.text
        assert "<html" not in bad.text
        with firm.system.engine.connect() as conn:
            after = conn.execute(select(func.count()).select_from(contract_amendments)).scalar()
        assert after == before  # nothing stored


def test_the_dashboard_keeps_the_months_over_until_a_new_fact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default range is February..July (nothing invoiced: the last six months); the
    clock is 2026-07-15. Unbilled approved time is T-1, 6 h × 200.00 = 1,200.00, at every
    month's end. A second request computes July alone (not over: as of now); T-3, 3 h on
    2026-03-10, posted to /v1/events, adds 600.00 from March: 1,800.00, and every month is
    computed again."""
    from syncline.services.kpis import series

    computed: list[str] = []
    compute = series.compute_kpis

    def counting(conn: Any, period: str, **kw: Any) -> Any:
        computed.append(period)
        return compute(conn, period, **kw)

    monkeypatch.setattr(series, "compute_kpis", counting)
    firm = small_firm(tmp_path)

    def unbilled() -> list[str]:
        page = http.get("/console/kpis")
        assert page.status_code == 200, page.text
        charts = {c["kpi"]: c for c in json.loads(DATA.search(page.text).group(1))}
        [series_] = charts["unbilled_approved_time"]["series"]
        assert series_["label"] == "US01 USD"
        return list(series_["values"])

    months = ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
    with TestClient(create_app(firm.system, background=False)) as http:
        sign_in(http, firm.keys["finance"])
        assert unbilled() == ["1200.00"] * 6 and computed == months
        computed.clear()
        assert unbilled() == ["1200.00"] * 6 and computed == ["2026-07"]
        posted = http.post("/v1/events", json=time_entry("T-3", hours="3", day="2026-03-10"),
                           headers={"X-API-Key": INTEGRATION_KEY})
        assert posted.status_code in (200, 202), posted.text
        firm.system.process()
        computed.clear()
        assert unbilled() == ["1200.00"] + ["1800.00"] * 5 and computed == months
