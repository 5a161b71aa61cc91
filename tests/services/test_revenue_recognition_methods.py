"""Billing method and recognition method chosen independently per contract line, and the
estimate at completion as an effective-dated fact (issue 9, finding 3; docs/revenue.md
"Recognition method per line").

C-1: fixed fee 20,000.00 billed by milestones M-1 / M-2 of 10,000.00 each, recognised by
cost to cost against an estimated cost of 10,000.00; worker W-1 costs 100.00 an hour.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.revenue_tables import line_recognition, revenue_estimates
from syncline.bootstrap import Syncline
from syncline.revenue import compute_schedule
from syncline.revenue.model import MethodKind
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.revenue.facts import build_contract
from syncline.services.revenue.sync import DEFAULT_POLICY
from tests.builders import deal, event, time_entry, worker
from tests.services.test_deal_to_invoice import ingest

MILESTONES = [{"milestone_id": "M-1", "name": "Phase 1", "amount": "10000.00"},
              {"milestone_id": "M-2", "name": "Phase 2", "amount": "10000.00"}]


def fixed_fee(recognition: Any = "cost_to_cost", **line: str) -> dict[str, Any]:
    d = deal(billing_type="fixed_fee", amount="20000.00", milestones=MILESTONES)
    d["data"]["lines"][0].update({"estimated_cost": "10000.00", **line})
    if recognition is not None:
        d["data"]["lines"][0]["recognition"] = recognition
    return d


def work(entry: str, total: int, day: str) -> list[dict[str, Any]]:
    """``total`` hours in entries of at most 10 h on consecutive days from ``day``."""
    start = date.fromisoformat(day)
    return [time_entry(f"{entry}-{i}", hours=str(min(10, total - 10 * i)),
                       day=date.fromordinal(start.toordinal() + i).isoformat())
            for i in range((total + 9) // 10)]


def revision(total: str, effective: str = "2026-02-01", basis: str = "estimated_cost",
             revision_id: str = "EST-1") -> dict[str, Any]:
    return event("estimate.revised", "contract/C-1", {
        "revision_id": revision_id, "contract_number": "C-1", "line_id": "L1",
        "effective_date": effective, basis: total, "reason": "re-planned after design"},
        source="psa/kantata")


def revenue_by_month(system: Syncline, as_of: date) -> list[Decimal]:
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
    assert rc is not None
    r = compute_schedule(rc, DEFAULT_POLICY, as_of)
    return [Decimal(v) / 100 for v in r.revenue_by_period()[: r.as_of_index + 1]]


def test_milestone_billing_recognised_by_cost(system: Syncline) -> None:
    """20 h in January (2,000.00 of cost): 20 % of 20,000.00 = 4,000.00, though no milestone
    is accepted (before: measured by milestones, 0.00); 30 h more in February: 50 % →
    10,000.00 cumulative, 6,000.00 in February."""
    ingest(system, fixed_fee(), worker(cost="100.00"), time_entry("T-1", hours="20"),
           *work("T-2", 30, "2026-02-16"))
    assert revenue_by_month(system, date(2026, 2, 28)) == [Decimal("4000"), Decimal("6000")]
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
    assert rc is not None and rc.obligations[0].method.kind is MethodKind.COST_TO_COST


def test_recognition_stated_as_an_object_and_by_hours(system: Syncline) -> None:
    """``{"method": "hours"}`` against 100 estimated hours: 20 h → 20 % → 4,000.00."""
    ingest(system, fixed_fee({"method": "hours"}, estimated_hours="100"), worker(),
           time_entry("T-1", hours="20"))
    assert revenue_by_month(system, date(2026, 1, 31)) == [Decimal("4000")]


def test_absent_recognition_keeps_todays_default(system: Syncline) -> None:
    """No ``recognition``: a fixed fee with milestones is measured by them (none accepted)."""
    ingest(system, fixed_fee(None), worker(), time_entry("T-1", hours="20"))
    assert revenue_by_month(system, date(2026, 1, 31)) == [Decimal("0")]
    with system.engine.connect() as conn:
        assert conn.execute(select(line_recognition)).all() == []


def test_a_method_the_billing_kind_does_not_allow_is_refused(system: Syncline) -> None:
    d = deal()
    d["data"]["lines"][0]["recognition"] = "hours"  # a T&M line: right to invoice only
    ingest(system, d)
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.code == "deal.recognition_invalid" and exc.field == "data.lines[0].recognition"


def test_estimate_revision_is_a_labelled_cumulative_catch_up(system: Syncline) -> None:
    """The estimate is raised to 12,500.00 from 2026-02-01: January 2,000 / 10,000 →
    4,000.00; on 2026-02-01 the work done is 2,000 / 12,500 = 16 % → 3,200.00, a catch-up of
    −800.00; February's 3,000.00 of cost: 5,000 / 12,500 = 40 % → 8,000.00, so February's
    revenue is 4,000.00 (= −800.00 + 4,800.00); March's 2,500.00: 60 % → 12,000.00."""
    ingest(system, fixed_fee(), worker(cost="100.00"), time_entry("T-1", hours="20"),
           revision("12500.00"), *work("T-2", 30, "2026-02-16"),
           *work("T-3", 25, "2026-03-10"))
    assert revenue_by_month(system, date(2026, 3, 31)) == [Decimal("4000")] * 3
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
        (row,) = conn.execute(select(revenue_estimates)).all()
    assert (row.line_id, row.basis, row.total) == ("L1", "cost", Decimal("12500.00"))
    assert rc is not None
    (cu,) = compute_schedule(rc, DEFAULT_POLICY, date(2026, 3, 31)).catch_ups
    assert (cu.amount, cu.date, "estimate" in cu.cause) == (-80000, date(2026, 2, 1), True)


def test_revision_before_its_contract_waits_and_a_wrong_basis_is_refused(system: Syncline
                                                                        ) -> None:
    ingest(system, revision("12500.00"))
    ingest(system, fixed_fee(), revision("120", basis="estimated_hours", revision_id="EST-2"))
    with system.engine.connect() as conn:
        assert [r.estimate_id for r in conn.execute(select(revenue_estimates))] == ["EST-1"]
        (exc,) = list_exceptions(conn)
    assert exc.code == "estimate.basis_mismatch"


def test_added_line_states_its_recognition(system: Syncline) -> None:
    """An amendment adds L2, a fixed fee of 5,000.00 recognised by cost against 2,500.00 from
    2026-02-01: February's 10 h (1,000.00) → 40 % → 2,000.00 on L2."""
    ingest(system, fixed_fee(None), worker(cost="100.00"), event("contract.amended", "deal/D-1", {
        "deal_id": "D-1", "amendment_id": "A-1", "effective_date": "2026-02-01",
        "changes": [{"action": "add_line", "line_id": "L2", "kind": "fixed_fee",
                     "description": "Reports", "amount": "5000.00",
                     "estimated_cost": "2500.00", "recognition": "cost_to_cost"}]},
        sequence=2), time_entry("T-9", hours="10", day="2026-02-10"))
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
    assert rc is not None
    r = compute_schedule(rc, DEFAULT_POLICY, date(2026, 2, 28))
    assert r.line("L2").cumulative[r.as_of_index] == 200000
