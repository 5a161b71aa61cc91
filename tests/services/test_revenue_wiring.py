"""The revenue engine wired to Syncline's facts: schedules persisted, journals trued up."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from syncline.adapters.db.revenue_tables import contract_amendments, revenue_schedules
from syncline.adapters.db.tables import journal_entries, journal_lines
from syncline.bootstrap import Syncline
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.revenue.sync import recognize
from tests.builders import deal, event, time_entry, worker
from tests.services.test_deal_to_invoice import ingest


def _revenue_lines(system: Syncline) -> list[tuple[str, str, str, Decimal]]:
    with system.engine.connect() as conn:
        return [(r.source_id, r.account, r.side, r.amount) for r in conn.execute(
            select(journal_entries.c.source_id, journal_lines.c.account, journal_lines.c.side,
                   journal_lines.c.amount).join(journal_entries)
            .where(journal_entries.c.source_type == "revenue")
            .order_by(journal_entries.c.source_id, journal_lines.c.line_no))]


def _fixed_fee(system: Syncline) -> None:
    ingest(system, deal("D-2", number="C-2", project="P-2", billing_type="fixed_fee",
                        amount="10000", milestones=[
                            {"milestone_id": "M-1", "name": "Design", "amount": "4000"},
                            {"milestone_id": "M-2", "name": "Go-live", "amount": "6000"}]),
           event("milestone.completed", "milestone/M-1", {
               "milestone_id": "M-1", "project_code": "P-2", "completed_on": "2026-01-20",
               "evidence": {"accepted_by": "CFO"}}))


def test_milestone_revenue_unbilled_then_persisted_schedule(system: Syncline) -> None:
    _fixed_fee(system)
    result = recognize(system.engine, "2026-01", system.charts, system.clock())
    assert result.contracts == 1 and result.revenue == {"USD": Decimal("4000.00")}
    # nothing invoiced yet: the accepted milestone is a contract asset (unbilled receivable)
    assert _revenue_lines(system) == [
        ("revenue:C-2:2026-01", "1150", "debit", Decimal("4000.00")),
        ("revenue:C-2:2026-01", "4010", "credit", Decimal("4000.00")),
    ]
    with system.engine.connect() as conn:
        rows = conn.execute(select(revenue_schedules).where(
            revenue_schedules.c.period == "2026-01")).all()
    assert [(r.obligation_id, r.revenue, r.cumulative) for r in rows] == [
        ("L1", Decimal("4000.00"), Decimal("4000.00"))]


def test_recognition_is_idempotent_and_catches_up_late_facts(system: Syncline) -> None:
    _fixed_fee(system)
    recognize(system.engine, "2026-01", system.charts, system.clock())
    again = recognize(system.engine, "2026-01", system.charts, system.clock())
    assert again.journal_entries == 0
    ingest(system, event("milestone.completed", "milestone/M-2", {
        "milestone_id": "M-2", "project_code": "P-2", "completed_on": "2026-01-28",
        "evidence": {"accepted_by": "CFO"}}))
    late = recognize(system.engine, "2026-01", system.charts, system.clock())
    assert late.journal_entries == 1
    assert _revenue_lines(system)[-1] == ("revenue:C-2:2026-01:r2", "4010", "credit",
                                          Decimal("6000.00"))


def test_time_and_materials_revenue_is_the_right_to_invoice(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-1", hours="7.5"))
    result = recognize(system.engine, "2026-01", system.charts, system.clock())
    assert result.revenue == {"USD": Decimal("1500.00")}


def test_amendment_is_recorded_and_classified(system: Syncline) -> None:
    from syncline.revenue import compute_schedule
    from syncline.services.revenue.facts import build_contract
    from syncline.services.revenue.sync import DEFAULT_POLICY

    _fixed_fee(system)
    ingest(system, event("contract.amended", "deal/D-2", {
        "deal_id": "D-2", "amendment_id": "A-1", "effective_date": "2026-02-01",
        "changes": [{"action": "add_line", "line_id": "L2", "kind": "fixed_fee",
                     "description": "Training", "amount": "3000", "priced_at_ssp": True,
                     "distinct": True}]}, sequence=2))
    with system.engine.connect() as conn:
        assert conn.execute(select(contract_amendments.c.amendment_id)).scalar() == "A-1"
        rc = build_contract(conn, "C-2")
    assert rc is not None and len(rc.modifications) == 1
    result = compute_schedule(rc, DEFAULT_POLICY, as_of=rc.start.replace(month=3, day=31))
    (decision,) = result.decisions
    assert decision.treatment.value == "separate_contract"


def test_amendment_for_an_unknown_line_is_a_finance_exception(system: Syncline) -> None:
    _fixed_fee(system)
    ingest(system, event("contract.amended", "deal/D-2", {
        "deal_id": "D-2", "amendment_id": "A-2", "effective_date": "2026-02-01",
        "changes": [{"action": "change_price", "line_id": "NOPE", "amount": "1"}]},
        sequence=2))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.code == "amendment.unknown_line" and exc.field == "data.changes[0].line_id"


def test_amendment_before_its_deal_waits(system: Syncline) -> None:
    ingest(system, event("contract.amended", "deal/D-2", {
        "deal_id": "D-2", "amendment_id": "A-3", "effective_date": "2026-02-01",
        "changes": [{"action": "change_price", "line_id": "L1", "amount": "12000"}]},
        sequence=2))
    _fixed_fee(system)
    with system.engine.connect() as conn:
        assert conn.execute(select(contract_amendments.c.amendment_id)).scalar() == "A-3"


def test_engine_mode_ties_out_contract_positions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Engine mode: invoices credit contract liability, recognition releases it, and the
    close reconciliation ties revenue, unbilled and deferred subledgers to the GL."""
    from syncline.bootstrap import bootstrap
    from syncline.config import Settings
    from syncline.services.billing.run import run_billing
    from syncline.services.ledger.reconciliation import close_reconciliation
    from syncline.services.state import ledger_trial_balance
    from tests.conftest import fixed_clock

    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'e.db'}",
                                revenue_recognition="engine"), clock=fixed_clock,
                       durable=False)
    _fixed_fee(system)
    ingest(system, deal("D-3", number="C-3", project="P-3", billing_type="retainer",
                        amount="3100"), deal(), worker(), time_entry("T-1", hours="8"))
    for period in ("2026-01", "2026-02"):
        run_billing(system.engine, period, system.ref, system.charts, fixed_clock(),
                    revenue_recognition="engine")
        recognize(system.engine, period, system.charts, fixed_clock())
    with system.engine.connect() as conn:
        assert ledger_trial_balance(conn).balanced
        report = close_reconciliation(conn, "2026-02", revenue_mode="engine")
        balances = {r.account: r.balance for r in ledger_trial_balance(conn).rows}
    statuses = {row[0]: row[7] for row in report.tables[0].rows}
    assert statuses["revenue schedules = GL revenue"] == "ok"
    assert statuses["unbilled subledger = GL"] == "ok"
    assert statuses["deferred subledger = GL"] == "ok"
    # revenue: milestone 4000 + T&M 8 h x 200 + retainer Jan and Feb 2 x 3100 = 11800
    assert -balances["4010"] == Decimal("11800.00")


def test_fixed_fee_by_cost_to_cost_from_approved_time_at_hr_cost_rates(system: Syncline
                                                                        ) -> None:
    d = deal("D-4", number="C-4", project="P-4", billing_type="fixed_fee", amount="20000")
    d["data"]["lines"][0]["estimated_cost"] = "8000"
    ingest(system, d, worker(cost="100.00"),
           worker(cost="120.00", sequence=2, effective="2026-01-10"),
           time_entry("T-1", project="P-4", hours="8", day="2026-01-05"),  # 800 at 100
           time_entry("T-2", project="P-4", hours="10", day="2026-01-12"))  # 1200 at 120
    result = recognize(system.engine, "2026-01", system.charts, system.clock())
    # progress 2000 / 8000 = 25 % of 20000
    assert result.revenue == {"USD": Decimal("5000.00")}


def test_cost_in_another_currency_is_refused_not_mixed(system: Syncline) -> None:
    d = deal("D-5", number="C-5", project="P-5", billing_type="fixed_fee", amount="20000")
    d["data"]["lines"][0]["estimated_cost"] = "8000"
    ingest(system, d, worker("W-9", cost="90", entity="GB01", currency="GBP"),
           time_entry("T-9", worker_id="W-9", project="P-5"))
    result = recognize(system.engine, "2026-01", system.charts, system.clock())
    assert result.refused == ["C-5"]
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.code == "revenue.refused" and "FX" in exc.message
    again = recognize(system.engine, "2026-01", system.charts, system.clock())
    assert again.refused == ["C-5"]
    with system.engine.connect() as conn:
        assert len(list_exceptions(conn)) == 1  # one exception, not one per run


def test_recognizing_an_earlier_period_again_posts_nothing_and_keeps_the_later_schedule(
        system: Syncline) -> None:
    """A late close of January after February was recognized: January's true-up compares
    with January's entries only, and the stored (later) schedule stays."""
    ingest(system, deal(), worker(), time_entry("T-1", hours="8"),
           time_entry("T-2", hours="4", day="2026-02-03"))
    recognize(system.engine, "2026-01", system.charts, system.clock())
    recognize(system.engine, "2026-02", system.charts, system.clock())
    before = _revenue_lines(system)
    again = recognize(system.engine, "2026-01", system.charts, system.clock())
    assert again.journal_entries == 0 and _revenue_lines(system) == before
    with system.engine.connect() as conn:
        as_of = set(conn.execute(select(revenue_schedules.c.as_of)).scalars())
    assert as_of == {"2026-02-28"}
