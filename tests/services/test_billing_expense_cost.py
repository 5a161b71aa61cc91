"""The cost of expenses not rebilled reaches the ledger (issue 9, finding 10c): rule
``billing.expense_cost``, source type ``expense_cost``, Dr project expenses (5200) / Cr
accrued payroll (2100) in the contract's entity and functional currency."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from syncline.adapters.db.tables import journal_entries, journal_lines
from syncline.bootstrap import Syncline
from syncline.services.state import ledger_trial_balance
from tests.builders import deal, event, worker
from tests.services.test_billing_wiring import expense, ingest, run, with_terms
from tests.services.test_rate_cards_close_fx import fx_published

D = Decimal


def costs(system: Syncline) -> list[tuple[str, str, str, str, Decimal, str]]:
    with system.engine.connect() as conn:
        return [(r.source_id, r.posting_date, r.account, r.side, r.amount, r.currency)
                for r in conn.execute(
                    select(journal_entries.c.source_id, journal_entries.c.posting_date,
                           journal_lines.c.account, journal_lines.c.side,
                           journal_lines.c.amount, journal_lines.c.currency)
                    .join(journal_lines, journal_lines.c.entry_id == journal_entries.c.id)
                    .where(journal_entries.c.source_type == "expense_cost")
                    .order_by(journal_entries.c.source_id, journal_lines.c.line_no))]


def test_expenses_not_rebilled_are_journaled_at_cost_once(system: Syncline) -> None:
    """EX-1 99.00 USD approved as not billable (January): Dr 5200 / Cr 2100 99.00, dated
    January's end. EX-2 80.00 EUR (Feb 3) at 1 EUR = 1 / 0.9200 USD (the inverse of the
    published USD/EUR) = 86.96 USD, dated February's end. EX-3 is rebilled: no cost entry
    here. Runs again: nothing new. EX-1 rejected in March: taken back, 99.00 the other way
    round, dated March's end."""
    ingest(system, deal(), worker(), fx_published("USD", {"EUR": "0.9200"}),
           expense("EX-1", "99.00", category="software", billable=False),
           expense("EX-2", "80.00", "EUR", day="2026-02-03", billable=False),
           expense("EX-3", "50.00"))
    run(system, "2026-01")
    assert costs(system) == [("EX-1", "2026-01-31", "5200", "debit", D("99.00"), "USD"),
                             ("EX-1", "2026-01-31", "2100", "credit", D("99.00"), "USD")]
    run(system, "2026-02")
    run(system, "2026-02")
    assert costs(system)[2:] == [("EX-2", "2026-02-28", "5200", "debit", D("86.96"), "USD"),
                                 ("EX-2", "2026-02-28", "2100", "credit", D("86.96"), "USD")]
    ingest(system, event("expense.rejected", "expense/EX-1", {
        "expense_id": "EX-1", "reason": "personal"}, source="psa/kantata", sequence=2))
    run(system, "2026-03")
    assert costs(system)[2:4] == [
        ("EX-1:reversal", "2026-03-31", "5200", "credit", D("99.00"), "USD"),
        ("EX-1:reversal", "2026-03-31", "2100", "debit", D("99.00"), "USD")]
    with system.engine.connect() as conn:
        assert ledger_trial_balance(conn).balanced


def test_a_contract_that_does_not_rebill_expenses_journals_their_cost(system: Syncline
                                                                      ) -> None:
    ingest(system, with_terms(deal(), expenses={"policy": "not_billable"}), worker(),
           expense("EX-1", "412.30", category="lodging"))
    assert run(system, "2026-01").invoices == []
    assert [c[2:5] for c in costs(system)] == [("5200", "debit", D("412.30")),
                                               ("2100", "credit", D("412.30"))]


def test_the_margin_report_counts_expense_cost_in_the_month_it_is_journaled(system: Syncline
                                                                            ) -> None:
    """The same journal in the margin report of project P-1 (C-1, US01): January's cost has
    EX-1's 99.00 (no time: margin -99.00); March takes it back (-99.00 of cost)."""
    from syncline.services.ledger.reports import build_report

    ingest(system, deal(), worker(), expense("EX-1", "99.00", category="software",
                                             billable=False))
    run(system, "2026-01")
    ingest(system, event("expense.rejected", "expense/EX-1", {
        "expense_id": "EX-1", "reason": "personal"}, source="psa/kantata", sequence=2))
    run(system, "2026-03")

    def cost(period: str) -> Decimal:
        with system.engine.connect() as conn:
            rows = build_report(conn, "margin", period, ref=system.ref,
                                chart=system.charts).tables[0].as_dicts()
        return sum((D(str(r["cost"])) for r in rows if r["project"] == "P-1"), D(0))

    assert cost("2026-01") == D("99.00")
    assert cost("2026-02") == D(0)
    assert cost("2026-03") == D("-99.00")
