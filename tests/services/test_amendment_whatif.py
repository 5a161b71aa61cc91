"""What-if of a proposed amendment (services/revenue/proposal.py), computed by hand.

Contract C-3 (deal D-3, US01, USD): one fixed-fee line L1 of 3,650.00 over 2026-01-01 ..
2026-12-31, no milestones and no estimate, so recognised ratably by day: 3,650 ÷ 365 days =
10.00 a day — January 310.00, February 280.00, …, July 310.00, August 310.00, September
300.00, October 310.00, November 300.00, December 310.00. The clock reads 2026-07-15, so
both schedules are as of 07-15.

1. L1 repriced to 5,490.00 from 07-01. A ratable line is distinct day by day, so the engine
   treats it as the end of the old contract and a new one (prospective, 25-13(a)): what is
   left to recognise on 07-01 — 3,650 − 181 days × 10 = 1,840.00 — plus the 1,840.00 added is
   3,680.00 over the 184 days from 07-01 to 12-31 = 20.00 a day. So July..December double:
   620, 620, 600, 620, 600, 620; January..June unchanged; the differences are the "before"
   figures of July..December.
2. A distinct line L9 of 1,840.00 added from 07-01, priced at its stand-alone selling price
   (both stated): a separate contract (25-12), recognised by day over its 184 days = 10.00 a
   day, so each month from July gains 310, 310, 300, 310, 300, 310 and L1 does not change.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from syncline.adapters.db.revenue_tables import contract_amendments
from syncline.adapters.db.tables import contracts
from syncline.bootstrap import Syncline
from syncline.services.revenue.proposal import (
    ProposalRefused,
    ProposedAmendment,
    lines_in_force,
    what_if_amendment,
)
from syncline.services.revenue.sync import DEFAULT_POLICY
from tests.builders import deal
from tests.services.test_billing_wiring import ingest

D = Decimal
BEFORE_H2 = ["310.00", "310.00", "300.00", "310.00", "300.00", "310.00"]  # July..December


@pytest.fixture
def firm(system: Syncline) -> Syncline:
    ingest(system, deal("D-3", number="C-3", project="P-3", billing_type="fixed_fee",
                        amount="3650.00"))
    return system


def what_if(system: Syncline, proposal: ProposedAmendment) -> dict:  # type: ignore[type-arg]
    with system.engine.connect() as conn:
        answer = what_if_amendment(conn, "C-3", proposal, DEFAULT_POLICY,
                                   system.clock().date(), system.clock())
    assert answer is not None
    return answer


def by_period(answer: dict, column: str) -> dict[str, str]:  # type: ignore[type-arg]
    return {p["period"]: p[column] for p in answer["periods"]}


def stored(system: Syncline) -> tuple[int, int]:
    with system.engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(contract_amendments)).scalar_one(),
                conn.execute(select(contracts.c.version)).scalar_one())


def test_a_price_change_of_a_ratable_line_is_prospective(firm: Syncline) -> None:
    nothing_yet = stored(firm)
    answer = what_if(firm, ProposedAmendment(date(2026, 7, 1), (
        {"action": "change_price", "line_id": "L1", "amount": "5490.00"},)))
    assert answer["as_of"] == "2026-07-15"
    before, after = by_period(answer, "before"), by_period(answer, "after")
    assert before["2026-01"] == "310.00" and before["2026-02"] == "280.00"
    assert [before[f"2026-{m:02d}"] for m in range(7, 13)] == BEFORE_H2
    assert [after[f"2026-{m:02d}"] for m in range(1, 7)] == \
        [before[f"2026-{m:02d}"] for m in range(1, 7)]
    assert [after[f"2026-{m:02d}"] for m in range(7, 13)] == \
        ["620.00", "620.00", "600.00", "620.00", "600.00", "620.00"]
    assert [by_period(answer, "difference")[f"2026-{m:02d}"] for m in range(7, 13)] == BEFORE_H2
    assert answer["before"]["total"] == "3650.00" and answer["after"]["total"] == "5490.00"
    assert answer["decision"]["treatment"] == "termination_and_new_contract"
    assert answer["decision"]["citation"].startswith("ASC 606-10-25-13(a)")
    assert stored(firm) == nothing_yet  # a what-if records nothing


def test_a_distinct_line_at_its_ssp_is_a_separate_contract(firm: Syncline) -> None:
    answer = what_if(firm, ProposedAmendment(date(2026, 7, 1), (
        {"action": "add_line", "line_id": "L9", "kind": "fixed_fee", "amount": "1840.00",
         "description": "Training", "distinct": True, "priced_at_ssp": True},)))
    assert answer["decision"]["treatment"] == "separate_contract"
    assert [by_period(answer, "difference")[f"2026-{m:02d}"] for m in range(7, 13)] == \
        BEFORE_H2
    assert answer["after"]["allocation"] == {"L1": "3650.00", "L9": "1840.00"}
    assert answer["after"]["total"] == "5490.00"
    chosen = [t for t in answer["treatments"] if t["chosen"]]
    assert [t["treatment"] for t in chosen] == ["separate_contract"]


def test_a_proposal_the_handler_would_refuse_is_refused(firm: Syncline) -> None:
    with pytest.raises(ProposalRefused, match="not on contract C-3"):
        what_if(firm, ProposedAmendment(date(2026, 7, 1), (
            {"action": "change_price", "line_id": "L7", "amount": "1"},)))
    with pytest.raises(ProposalRefused, match="before the contract starts"):
        what_if(firm, ProposedAmendment(date(2025, 12, 1), (
            {"action": "change_price", "line_id": "L1", "amount": "1"},)))
    with pytest.raises(ProposalRefused, match="has no amount"):
        what_if(firm, ProposedAmendment(date(2026, 7, 1), (
            {"action": "add_line", "line_id": "L9", "kind": "fixed_fee"},)))
    with pytest.raises(ProposalRefused, match="at least one change"):
        what_if(firm, ProposedAmendment(date(2026, 7, 1)))
    with firm.engine.connect() as conn:
        assert what_if_amendment(conn, "C-404", ProposedAmendment(date(2026, 7, 1), (
            {"action": "remove_line", "line_id": "L1"},)), DEFAULT_POLICY,
            firm.clock().date(), firm.clock()) is None
        assert lines_in_force(conn, "C-3") == [
            {"line_id": "L1", "kind": "fixed_fee", "description": "Services",
             "amount": D("3650.00")}]
