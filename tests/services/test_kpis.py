"""KPIs of a small firm, each computed by hand below (the clock is fixed at 2026-07-15T12:00Z,
so everything Syncline stamps itself — received, applied, delivered — is in July 2026).

The firm (US01, USD, consultant at 200.00/h):
- D-1 (T&M, C-1, P-1) closed 2026-01-02T09:00Z; D-2 (fixed fee 10,000, C-2, P-2, milestones
  M-1 4,000 and M-2 6,000) closed 2026-01-10T09:00Z.
- Time on P-1: T-1 6 h on 01-05 (approved 01-05T18:00Z), T-2 4 h on 01-28 (approved
  01-28T18:00Z), T-3 2 h on 02-03. M-1 completed 01-20, M-2 completed 02-10.
- T-X names an unknown project P-X: parked, then past the park age one PMO exception
  (raised 07-15).
- A billing exception on contract C-1 raised 2026-01-20T12:00Z (open).
- January's billing run: C-1 invoice 01-31 = T-1 + T-2 = 1,200 + 800 = 2,000.00; C-2 invoice
  01-31 = M-1 4,000.00. Deliveries then run (07-15T12:00Z): both projects become active.

By hand:
- setup cycle (2026-07): P-1 01-02T09:00 → 07-15T12:00 = 194 d 3 h = 194.125 → 194.13 days;
  P-2 01-10T09:00 → 07-15T12:00 = 186.125 → 186.13; median (186.13 + 194.13) / 2 = 190.13,
  p90 (nearest rank 2 of 2) = max = 194.13.
- approval-to-invoice (2026-01): T-1 01-05 → 01-31 = 26 days, T-2 01-28 → 01-31 = 3 days;
  median 14.50, p90 26.
- unbilled approved time: end of January 0 (T-3 is dated 02-03); end of February T-3 2 h ×
  200 = 400.00.
- billing exception rate (2026-01): 1 billing exception ÷ 2 invoices = 0.5000.
- unrecognized fulfilled milestones: end of January none (M-1 invoiced 01-31); end of
  February M-2 6,000.00 (completed 02-10, on no invoice).
- exception aging at the end of February: the billing exception, 01-20T12:00 → 02-28T23:59:59
  = 39 days → 31+; at now (07-15T12:00, July): it is 176 days old (31+) and the T-X one is
  0 days old (0-1, PMO's, no entity: '*').
- straight-through (2026-07): 9 messages settled (2 deals, 1 worker, 4 time entries with T-X,
  2 milestones), T-X parked then an exception: 8 ÷ 9 = 0.8889.
- DSO (2026-01): AR 6,000.00 ÷ invoiced in Nov..Jan 6,000.00 × 92 days = 92.0.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import Syncline
from syncline.domain.errors import BusinessDomain, Problem
from syncline.services.kpis import DEFINITIONS, compute_kpis
from syncline.services.ledger.reports.registry import report_options
from syncline.services.messaging.exceptions import raise_exception
from tests.builders import deal, event, time_entry, worker
from tests.services.test_billing_wiring import ingest, run

D = Decimal


def milestone(mid: str, on: str) -> dict[str, Any]:
    return event("milestone.completed", f"milestone/{mid}", {
        "milestone_id": mid, "project_code": "P-2", "completed_on": on,
        "evidence": {"accepted_by": "CFO"}}, time=f"{on}T12:00:00Z")


def firm_sweep(system: Syncline) -> None:
    """Past the park age: T-X, waiting for project P-X, becomes an exception."""
    system.sweep(as_of=datetime(2026, 2, 1, tzinfo=UTC))


def small_firm(system: Syncline) -> None:
    ingest(system, deal(),
           deal("D-2", number="C-2", project="P-2", billing_type="fixed_fee", amount="10000",
                time="2026-01-10T09:00:00Z",
                milestones=[{"milestone_id": "M-1", "name": "Design", "amount": "4000"},
                            {"milestone_id": "M-2", "name": "Go-live", "amount": "6000"}]),
           worker(), time_entry("T-1", hours="6"), time_entry("T-2", hours="4", day="2026-01-28"),
           time_entry("T-3", hours="2", day="2026-02-03"), time_entry("T-X", project="P-X"),
           milestone("M-1", "2026-01-20"), milestone("M-2", "2026-02-10"))
    firm_sweep(system)
    with system.engine.begin() as conn:
        raise_exception(conn, Problem("invoice.test", BusinessDomain.BILLING, "held", "fix it",
                                      objects=(("contract", "C-1"),)),
                        now=datetime(2026, 1, 20, 12, tzinfo=UTC))
    run(system, "2026-01")
    system.deliver()


def kpis(system: Syncline, period: str, entity: str | None = None) -> dict[str, Any]:
    with system.engine.connect() as conn:
        return compute_kpis(conn, period, entity=entity, options=report_options(system),
                            now=system.clock())


@pytest.fixture
def firm(system: Syncline) -> Syncline:
    small_firm(system)
    return system


def test_every_kpi_has_a_definition(firm: Syncline) -> None:
    assert set(kpis(firm, "2026-01")) == set(DEFINITIONS)


def test_setup_cycle_time_runs_from_deal_close_to_project_active(firm: Syncline) -> None:
    assert kpis(firm, "2026-07")["project_setup_cycle_time"] == [
        {"entity": "US01", "count": 2, "median_days": D("190.13"), "p90_days": D("194.13"),
         "max_days": D("194.13")}]
    assert kpis(firm, "2026-01")["project_setup_cycle_time"] == []  # none active in January


def test_approval_to_invoice_latency(firm: Syncline) -> None:
    assert kpis(firm, "2026-01")["time_to_invoice_latency"] == [
        {"entity": "US01", "count": 2, "median_days": D("14.50"), "p90_days": D(26),
         "max_days": D(26)}]


def test_unbilled_time_and_unrecognized_milestones_at_month_end(firm: Syncline) -> None:
    january, february = kpis(firm, "2026-01"), kpis(firm, "2026-02")
    assert january["unbilled_approved_time"] == []
    assert february["unbilled_approved_time"] == [
        {"entity": "US01", "currency": "USD", "count": 1, "amount": D("400.00")}]
    assert january["unrecognized_fulfilled_milestones"] == []
    assert february["unrecognized_fulfilled_milestones"] == [
        {"entity": "US01", "currency": "USD", "count": 1, "amount": D("6000.00")}]


def test_billing_exception_rate_and_exception_aging(firm: Syncline) -> None:
    assert kpis(firm, "2026-01")["billing_exception_rate"] == [
        {"entity": "US01", "exceptions": 1, "invoices": 2, "rate": D("0.5000")}]
    feb = kpis(firm, "2026-02")["exception_aging"]
    assert feb == [{"entity": "US01", "domain": "billing", "0-1": 0, "2-7": 0, "8-30": 0,
                    "31+": 1, "total": 1}]
    july = {(r["entity"], r["domain"]): r for r in kpis(firm, "2026-07")["exception_aging"]}
    assert july[("US01", "billing")]["31+"] == 1
    assert july[("*", "pmo")]["0-1"] == 1
    assert kpis(firm, "2026-07", entity="US01")["exception_aging"] == [july[("US01", "billing")]]


def test_straight_through_share_leaves_out_what_needed_a_person(firm: Syncline) -> None:
    with firm.engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(select(inbox.c.status))]
    assert len(statuses) == 9 and statuses.count("applied") == 8
    assert kpis(firm, "2026-07")["straight_through_share"] == [
        {"entity": "*", "messages": 9, "straight_through": 8, "share": D("0.8889")}]


def test_dso_and_the_ledger_reports_are_the_ledgers(firm: Syncline) -> None:
    january = kpis(firm, "2026-01")
    assert january["dso"] == [{"entity": "US01", "currency": "USD", "ar": D("6000.00"),
                               "invoiced": D("6000.00"), "days": 92, "dso": D("92.0")}]
    with firm.engine.connect() as conn:
        waterfall = report_options(firm).build(conn, "revenue-waterfall", "2026-01",
                                               as_of="now").as_dict()
    assert january["revenue_waterfall"]["tables"] == waterfall["tables"]
    assert "rpo" in january and "deferred_revenue" in january


def test_cli_and_api_show_the_kpis_with_their_definitions(
        firm: Syncline, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from syncline.api.app import create_app
    from syncline.cli.main import app
    from syncline.services.governance.keys import create_key

    with firm.engine.begin() as conn:
        key = create_key(conn, "k-pmo", ["pmo"], by="setup", now=firm.clock())[0]
    with TestClient(create_app(firm, background=False)) as http:
        answer = http.get("/v1/kpis", params={"period": "2026-01"},
                          headers={"X-API-Key": key})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["definitions"] == DEFINITIONS
        assert body["kpis"]["billing_exception_rate"][0]["rate"] == "0.5000"
        assert http.get("/v1/kpis", params={"period": "2026-1"},
                        headers={"X-API-Key": key}).status_code == 422
        assert http.get("/v1/kpis").status_code == 401
    monkeypatch.setenv("SYNCLINE_DATABASE_URL", firm.settings.database_url)
    shown = CliRunner().invoke(app, ["kpi", "--period", "2026-01", "--json"])
    assert shown.exit_code == 0, shown.output
    printed = json.loads(shown.output)
    assert printed["kpis"]["dso"][0]["dso"] == "92.0"
    assert printed["definitions"]["dso"] == DEFINITIONS["dso"]
    table = CliRunner().invoke(app, ["kpi", "--period", "2026-01"])
    assert table.exit_code == 0 and "time_to_invoice_latency" in table.output


def test_the_operations_guide_carries_every_definition() -> None:
    from pathlib import Path

    guide = Path(__file__).parents[2].joinpath("docs", "operations.md").read_text()
    for name, text in DEFINITIONS.items():
        assert f"- **{name}**: {text}" in guide, name


def amendment(deal_id: str, amendment_id: str) -> dict[str, Any]:
    return event("contract.amended", f"deal/{deal_id}", {
        "deal_id": deal_id, "amendment_id": amendment_id, "effective_date": "2026-03-01",
        "changes": [{"action": "change_price", "line_id": "L1", "amount": "12000"}],
        "reason": "price renegotiated"}, sequence=2, time="2026-03-01T10:00:00Z")


def test_amendments_awaiting_propagation(firm: Syncline) -> None:
    """A-1 on D-2 is recorded and emits a PSA budget update, not delivered yet (US01, 1
    undelivered); A-9 names a deal Syncline does not know: parked ('*', 1 not applied). Once
    the outbox is delivered only A-9 waits."""
    assert kpis(firm, "2026-07")["amendments_awaiting_propagation"] == []
    ingest(firm, amendment("D-2", "A-1"), amendment("D-404", "A-9"))
    assert kpis(firm, "2026-07")["amendments_awaiting_propagation"] == [
        {"entity": "*", "undelivered": 0, "not_applied": 1, "total": 1},
        {"entity": "US01", "undelivered": 1, "not_applied": 0, "total": 1}]
    firm.deliver()
    assert kpis(firm, "2026-07", entity="US01")["amendments_awaiting_propagation"] == []
    assert kpis(firm, "2026-07")["amendments_awaiting_propagation"] == [
        {"entity": "*", "undelivered": 0, "not_applied": 1, "total": 1}]
