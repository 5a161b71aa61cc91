"""The billing engine wired to events, tables and runs: invoices that read like invoices.

Each test is one contract story on a real SQLite file: what was agreed (the deal's billing
terms), what happened (time, expenses, rejections), and the invoice or credit note it gives.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from syncline.adapters.db.billing_tables import (
    billing_holds,
    credit_note_lines,
    credit_notes,
)
from syncline.adapters.db.tables import (
    billable_items,
    invoice_lines,
    invoices,
    journal_entries,
    journal_lines,
)
from syncline.bootstrap import Syncline
from syncline.services.billing.reversal import request_credit
from syncline.services.billing.run import run_billing
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import fingerprint, ledger_trial_balance
from tests.builders import deal, event, rejection, time_entry, worker


def ingest(system: Syncline, *events: object) -> list[Any]:
    with system.engine.begin() as conn:
        receipts = receive_many(conn, list(events), now=system.clock())  # type: ignore[arg-type]
    system.process()
    return receipts


def run(system: Syncline, period: str, **kw: Any) -> Any:
    return run_billing(system.engine, period, system.ref, system.charts, system.clock(), **kw)


def with_terms(d: dict[str, Any], **terms: Any) -> dict[str, Any]:
    d["data"]["billing_terms"] = terms
    return d


def expense(expense_id: str, amount: str, currency: str = "USD", *, project: str = "P-1",
            day: str = "2026-01-08", category: str = "travel", billable: bool = True
            ) -> dict[str, Any]:
    return event("expense.approved", f"expense/{expense_id}", {
        "expense_id": expense_id, "worker_id": "W-1", "project_code": project,
        "incurred_on": day, "category": category, "description": f"{category} to client",
        "amount": {"amount": amount, "currency": currency}, "billable": billable},
        source="psa/kantata", time=f"{day}T19:00:00Z")


def lines_of(system: Syncline, number: str) -> list[tuple[str, Decimal, Decimal]]:
    with system.engine.connect() as conn:
        return [(r.description, r.quantity, r.amount) for r in conn.execute(
            select(invoice_lines).where(invoice_lines.c.invoice_number == number)
            .order_by(invoice_lines.c.line_no))]


def accounts(system: Syncline, source_type: str, source_id: str) -> dict[str, tuple[str, Decimal]]:
    with system.engine.connect() as conn:
        return {r.account: (r.side, r.amount) for r in conn.execute(
            select(journal_lines.c.account, journal_lines.c.side, journal_lines.c.amount)
            .join(journal_entries).where((journal_entries.c.source_type == source_type)
                                         & (journal_entries.c.source_id == source_id)))}


def test_time_rejected_after_invoicing_gives_a_credit_note_naming_the_item(system: Syncline
                                                                          ) -> None:
    ingest(system, deal(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    assert run(system, "2026-01").invoices == ["US01-2026-000001"]
    ingest(system, rejection("T-2"))
    with system.engine.connect() as conn:
        assert list_exceptions(conn) == []  # no longer a billing.credit_needed exception
    feb = run(system, "2026-02")
    assert feb.credit_notes == ["US01-CN-2026-000001"] and feb.invoices == []
    with system.engine.connect() as conn:
        note = conn.execute(select(credit_notes)).one()
        (line,) = conn.execute(select(credit_note_lines)).all()
        status = dict(conn.execute(select(billable_items.c.key, billable_items.c.status)).all())
        assert ledger_trial_balance(conn).balanced
        before = fingerprint(conn)
    assert note.invoice_number == "US01-2026-000001" and note.total == Decimal("-1600.00")
    assert json.loads(line.item_keys) == ["time:T-2"] and line.quantity == Decimal("-8")
    assert status == {"time:T-1": "invoiced", "time:T-2": "credited"}
    assert accounts(system, "credit_note", "US01-CN-2026-000001") == {
        "1100": ("credit", Decimal("1600.00")), "4010": ("debit", Decimal("1600.00"))}
    again = run(system, "2026-02")  # idempotent: nothing credited twice
    assert again.credit_notes == [] and again.invoices == []
    with system.engine.connect() as conn:
        assert fingerprint(conn) == before


def test_corrected_time_is_credited_and_rebilled_as_a_new_item(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-1"))
    run(system, "2026-01")
    with system.engine.begin() as conn:
        request_credit(conn, invoice_number="US01-2026-000001", keys=["time:T-1"],
                       reason="hours corrected to 6", now=system.clock(),
                       corrected_hours=Decimal("6"))
    feb = run(system, "2026-02")
    assert feb.credit_notes == ["US01-CN-2026-000001"]
    assert feb.invoices == ["US01-2026-000002"]  # the corrected work, billed again
    assert lines_of(system, "US01-2026-000002") == [("Consultant time", Decimal("6"),
                                                     Decimal("1200.00"))]
    with system.engine.connect() as conn:
        items = dict(conn.execute(select(billable_items.c.key, billable_items.c.status)).all())
    assert items == {"time:T-1": "credited", "time:T-1@r2": "invoiced"}


def test_expenses_at_cost_with_markup_and_not_billable(system: Syncline) -> None:
    ingest(system, with_terms(deal(), expenses={"policy": "markup", "markup_percent": "10"}),
           worker(), expense("EX-1", "412.30", category="lodging"),
           expense("EX-2", "99.00", category="software", billable=False))
    run(system, "2026-01")
    assert lines_of(system, "US01-2026-000001") == [
        ("Expense 2026-01-08 lodging: lodging to client (cost 412.30 USD + 10 %)",
         Decimal("1"), Decimal("453.53"))]


def test_an_expense_in_a_currency_without_fx_rate_waits_for_the_rate(system: Syncline) -> None:
    """No JPY/USD rate: the expense waits (parked on fx:JPY/USD:2026-01-08), no exception;
    treasury's rate of 2026-01-07 (0.0068) releases it: 80,000 JPY = 544.00 USD."""
    from tests.services.test_rate_cards_close_fx import fx_published

    ingest(system, deal(), worker(), expense("EX-1", "80000", "JPY"))
    with system.engine.connect() as conn:
        assert list_exceptions(conn) == []
        assert conn.execute(select(billable_items)).all() == []
    ingest(system, fx_published("JPY", {"USD": "0.0068"}))
    run(system, "2026-01")
    (line,) = lines_of(system, "US01-2026-000001")
    assert line[2] == Decimal("544.00") and "80,000 JPY at 0.0068" in line[0]


def test_soft_cap_bills_to_the_cap_and_shows_the_write_off(system: Syncline) -> None:
    ingest(system, with_terms(deal(), caps=[{"cap_id": "NTE-1", "limit": "2000",
                                             "kind": "soft"}]),
           worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    run(system, "2026-01")
    with system.engine.connect() as conn:
        inv = conn.execute(select(invoices)).one()
    assert inv.subtotal == Decimal("2000.00")
    assert lines_of(system, inv.number) == [
        ("Not-to-exceed NTE-1 (2,000.00 USD) adjustment", Decimal("-6"), Decimal("-1200.00")),
        ("Consultant time", Decimal("16"), Decimal("3200.00"))]


def test_hard_cap_holds_the_excess_until_approved(system: Syncline) -> None:
    ingest(system, with_terms(deal(), caps=[{"cap_id": "NTE-1", "limit": "2000",
                                             "kind": "hard", "tolerance": "0.05"}]),
           worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    jan = run(system, "2026-01")
    assert jan.held == ["time:T-2#over"]
    with system.engine.connect() as conn:
        inv = conn.execute(select(invoices)).one()
    assert inv.subtotal == Decimal("2100.00")  # limit + 5 % tolerance, never more
    assert any("Held for approval" in n for n in json.loads(inv.notes))
    assert run(system, "2026-02").invoices == []  # still held
    with system.engine.begin() as conn:
        conn.execute(update(billing_holds).values(status="approved", approved_by="cfo"))
    mar = run(system, "2026-03")
    assert lines_of(system, mar.invoices[0]) == [("Consultant time", Decimal("5.5"),
                                                  Decimal("1100.00"))]


def test_retainer_in_advance_defers_next_month_and_drawdown_bills_overage(system: Syncline
                                                                         ) -> None:
    ingest(system, with_terms(
        deal(billing_type="retainer", amount="3000"),
        retainer={"timing": "advance", "included_hours": "10", "overage_rate": "150"}),
        worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    (number,) = run(system, "2026-01").invoices
    assert lines_of(system, number) == [
        ("Retainer fee February 2026", Decimal("1"), Decimal("3000.00")),
        ("Retainer fee January 2026", Decimal("1"), Decimal("3000.00")),
        ("Drawdown: Consultant time", Decimal("10"), Decimal("0.00")),
        ("Overage: Consultant time", Decimal("6"), Decimal("900.00"))]
    assert accounts(system, "invoice", number)["2300"] == ("credit", Decimal("3000.00"))


def test_revenue_engine_mode_releases_to_contract_liability(system: Syncline) -> None:
    ingest(system, deal(tax="US-NY-SVC"), worker(), time_entry("T-1"))
    (number,) = run(system, "2026-01", revenue_recognition="engine").invoices
    assert accounts(system, "invoice", number) == {
        "1100": ("debit", Decimal("1742.00")), "2300": ("credit", Decimal("1600.00")),
        "2200": ("credit", Decimal("142.00"))}


def test_dry_run_changes_nothing(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-1"))
    with system.engine.connect() as conn:
        before = fingerprint(conn)
    assert run(system, "2026-01", dry_run=True).invoices == ["US01-2026-000001"]
    with system.engine.connect() as conn:
        assert fingerprint(conn) == before
