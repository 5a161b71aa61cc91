"""An amendment that changes a project's budget (contract value, estimated hours), its bill
rates or its end date sends psa.budget.update to the PSA with the budget before and after;
one that changes none of them sends nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import outbox
from syncline.bootstrap import Syncline
from syncline.domain.budget import Budget, project_budget
from tests.builders import deal, event
from tests.services.test_master_data_events import ingest

D = Decimal


def amended(amendment_id: str, *changes: dict[str, Any], sequence: int,
            **extra: str) -> dict[str, Any]:
    return event("contract.amended", "deal/D-1", {
        "deal_id": "D-1", "amendment_id": amendment_id, "effective_date": "2026-03-01",
        "changes": list(changes), **extra}, sequence=sequence)


def updates(system: Syncline) -> list[dict[str, Any]]:
    with system.engine.connect() as conn:
        return [json.loads(r.payload) for r in conn.execute(
            select(outbox.c.payload).where(outbox.c.kind == "psa.budget.update")
            .order_by(outbox.c.seq))]


def test_budget_changes_reach_the_psa_and_unchanged_budgets_do_not(system: Syncline) -> None:
    ingest(system, deal(billing_type="fixed_fee", amount="10000"))
    (provisioned,) = updates(system)
    assert provisioned["budget"] == "10000"
    ingest(system, amended("A-1", {"action": "change_price", "line_id": "L1",
                                   "amount": "12000"}, sequence=2))
    ingest(system, amended("A-2", {"action": "change_price", "line_id": "L1",
                                   "amount": "12000"}, sequence=3))  # the same price: nothing
    ingest(system, amended("A-3", {"action": "add_line", "line_id": "L2", "kind": "fixed_fee",
                                   "amount": "3000", "estimated_hours": "20"}, sequence=4))
    ingest(system, amended("A-4", {"action": "change_rate", "role": "consultant",
                                   "rate": "220"}, sequence=5))
    sent = updates(system)[1:]
    assert [(u["amendment"], u["previous_budget"], u["budget"], u["previous_hours"],
             u["hours"]) for u in sent] == [
        ("A-1", "10000", "12000", "0", "0"),    # 10,000 → 12,000
        ("A-3", "12000", "15000", "0", "20"),   # + L2's 3,000 and 20 h
        ("A-4", "15000", "15000", "20", "20")]  # a rate change: the billing rule moves
    assert sent[2]["rates"] == {"consultant": "220"} and "rates" not in sent[0]
    assert sent[0]["code"] == "P-1" and sent[0]["currency"] == "USD"
    assert sent[0]["billing_type"] == "fixed_fee"


def test_the_budget_after_amendments_in_effect_order() -> None:
    lines = [("L1", D(10000), D(80)), ("L2", D(5000), None)]
    changes = [{"action": "change_price", "line_id": "L1", "amount": "9000",
                "estimated_hours": "70"},
               {"action": "remove_line", "line_id": "L2"},
               {"action": "top_up_block", "hours": "10", "amount": "1500"},
               {"action": "change_cap", "cap_id": "CAP-1", "limit": "1"}]
    # 9,000 (L1 repriced) + 1,500 (top-up) = 10,500; 70 + 10 = 80 h; L2 gone
    assert project_budget(lines, changes) == Budget(D(10500), D(80))
    assert project_budget(lines, []) == Budget(D(15000), D(80))
