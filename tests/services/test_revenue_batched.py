"""Recognition reads many contracts at once (`reads.load_facts`, `journal_reads`) and must
come to exactly what recognising each contract on its own comes to.

The firm, over three months: C-1 time and materials (USD) with January time approved late
(after January's recognition: a catch-up ``:r2``); C-2 a fixed fee by milestones whose price
is amended from February; C-3 time and materials in EUR booked by the US entity (functional
amounts at carrying and closing rates); C-4 a fixed fee by cost whose cost is in GBP
(refused). Two copies of the same database: one recognised with chunks of two contracts and
the journal read whole, the other one contract at a time by the code as it was before the
reads were batched (`revenue_reference`, every read its own statement); after every month the
schedules, journals, exceptions and results are the same.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.revenue.model import RevenueError
from syncline.services.billing.run import run_billing
from syncline.services.revenue import journal_reads, sync
from syncline.services.revenue.facts import build_contract
from syncline.services.revenue.reads import load_facts
from syncline.services.revenue.sync import DEFAULT_POLICY, RecognitionResult, recognize
from tests.builders import deal, event, time_entry, worker
from tests.conftest import fixed_clock
from tests.services.revenue_reference import facts_one_by_one, recognize_one_by_one
from tests.services.test_deal_to_invoice import ingest
from tests.services.test_rate_cards_close_fx import fx_published


def _firm(system: Syncline) -> None:
    fixed = deal("D-2", number="C-2", project="P-2", billing_type="fixed_fee", amount="10000",
                 milestones=[{"milestone_id": "M-1", "name": "Design", "amount": "4000"},
                             {"milestone_id": "M-2", "name": "Go-live", "amount": "6000"}])
    refused = deal("D-4", number="C-4", project="P-4", billing_type="fixed_fee",
                   amount="20000")
    refused["data"]["lines"][0]["estimated_cost"] = "8000"
    ingest(system, deal(), fixed, deal("D-3", number="C-3", project="P-3", currency="EUR"),
           refused, worker(), worker("W-9", cost="90", entity="GB01", currency="GBP"),
           fx_published("EUR", {"USD": "1.1000"}, as_of="2026-01-07"),
           fx_published("EUR", {"USD": "1.1500"}, as_of="2026-02-20"),
           time_entry("T-1", hours="8", day="2026-01-05"),
           time_entry("T-2", hours="6", day="2026-02-03"),
           time_entry("T-3", hours="7", day="2026-03-10"),
           time_entry("T-31", project="P-3", hours="5", day="2026-01-12"),
           time_entry("T-32", project="P-3", hours="9", day="2026-02-16"),
           time_entry("T-33", project="P-3", hours="3", day="2026-03-02"),
           time_entry("T-9", worker_id="W-9", project="P-4", day="2026-01-14"),
           event("milestone.completed", "milestone/M-1", {
               "milestone_id": "M-1", "project_code": "P-2", "completed_on": "2026-01-20",
               "evidence": {"accepted_by": "CFO"}}),
           event("contract.amended", "deal/D-2", {
               "deal_id": "D-2", "amendment_id": "A-1", "effective_date": "2026-02-01",
               "changes": [{"action": "change_price", "line_id": "L1", "amount": "12000",
                            "priced_at_ssp": True, "distinct": False}],
               "reason": "price renegotiated"}, sequence=2),
           event("milestone.completed", "milestone/M-2", {
               "milestone_id": "M-2", "project_code": "P-2", "completed_on": "2026-03-09",
               "evidence": {"accepted_by": "CFO"}}))
    for month in ("2026-01", "2026-02", "2026-03"):
        run_billing(system.engine, month, system.ref, system.charts, fixed_clock(),
                    revenue_recognition="engine")  # invoices credit the contract liability


def _state(system: Syncline) -> dict[str, Any]:
    with system.engine.connect() as conn:
        def rows(sql: str) -> list[tuple[str, ...]]:
            return [tuple(map(str, r)) for r in conn.execute(text(sql))]
        return {
            "schedules": rows("select * from revenue_schedules order by 1, 2, 3"),
            "journals": rows(
                "select e.source_type, e.source_id, e.posting_date, e.entity_code, l.line_no,"
                " l.account, l.side, l.amount, l.currency, d.functional_amount, d.fx_rate,"
                " d.fx_source from journal_entries e join journal_lines l on l.entry_id = e.id"
                " left join journal_line_details d on d.entry_id = l.entry_id"
                " and d.line_no = l.line_no order by 1, 2, 5"),
            "exceptions": rows("select code, objects, message, status from exceptions"
                               " order by 1, 2, 3")}


def _one_at_a_time(system: Syncline, period: str) -> dict[str, Any]:
    r = RecognitionResult(period=period)
    recognize_one_by_one(system.engine, period, system.charts, system.clock(), r,
                         post_journals=True, policy=DEFAULT_POLICY, only=None, entity=None,
                         rules=system.ledger.rules,
                         closed_period_policy=system.ledger.closed_period_policy,
                         functional=system.ledger.functional_currencies)
    return {"contracts": r.contracts, "journal_entries": r.journal_entries,
            "refused": r.refused, "by_contract": r.by_contract}


def _together(system: Syncline, period: str) -> dict[str, Any]:
    r = recognize(system.engine, period, system.charts, system.clock(),
                  rules=system.ledger.rules,
                  closed_period_policy=system.ledger.closed_period_policy,
                  functional=system.ledger.functional_currencies)
    return {"contracts": r.contracts, "journal_entries": r.journal_entries,
            "refused": r.refused, "by_contract": r.by_contract}


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Syncline, Syncline]:
    monkeypatch.setattr(sync, "CHUNK", 2)  # chunk boundaries inside the firm
    monkeypatch.setattr(journal_reads, "FEW", 1)  # a run of the firm reads the whole journal
    made: list[Syncline] = []
    for name in ("together", "single"):
        if made:  # the last connection closed checkpoints the write-ahead log
            made[0].engine.dispose()
            shutil.copy(tmp_path / "together.db", tmp_path / f"{name}.db")
        made.append(bootstrap(Settings(database_url=f"sqlite:///{tmp_path / name}.db",
                                       revenue_recognition="engine"),
                              clock=fixed_clock, durable=False))
        if len(made) == 1:
            _firm(made[0])
    return made[0], made[1]


def test_recognition_of_many_contracts_equals_one_at_a_time(
        pair: tuple[Syncline, Syncline]) -> None:
    together, single = pair
    assert _state(together) == _state(single)
    steps = [("2026-01", ()), ("2026-01", ("T-4",)), ("2026-02", ()), ("2026-03", ()),
             ("2026-01", ("T-5",))]  # January again, late, after March
    for period, late in steps:
        for system in (together, single):
            ingest(system, *(time_entry(t, hours="3", day="2026-01-28") for t in late))
        a, b = _together(together, period), _one_at_a_time(single, period)
        assert a == b, period
        assert _state(together) == _state(single), period
    state = _state(together)
    assert a["refused"] == ["C-4"] and a["contracts"] == 3
    sources = {j[1] for j in state["journals"] if j[0] == "revenue"}
    assert {"revenue:C-1:2026-01:r2", "revenue:C-3:2026-03"} <= sources  # a catch-up
    assert any("carrying rate" in j[11] for j in state["journals"])  # C-3 in EUR
    assert any(s[0] == "C-2" and s[2] == "2026-02" for s in state["schedules"])


def _built(conn: Any, number: str, facts: Any) -> Any:
    try:
        return build_contract(conn, number, facts=facts)
    except RevenueError as err:  # C-4: its cost is in GBP
        return str(err)


def test_facts_read_together_build_the_contract_read_alone(
        pair: tuple[Syncline, Syncline]) -> None:
    together, _ = pair
    with together.engine.connect() as conn:
        numbers = [r for r in conn.execute(select(text("number")).select_from(
            text("contracts"))).scalars()]
        facts = load_facts(conn, numbers)
        for number in numbers:
            alone = facts_one_by_one(conn, number)
            assert _built(conn, number, facts[number]) == _built(conn, number, alone), number
        assert build_contract(conn, "C-404") is None
