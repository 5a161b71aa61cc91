"""Payments come back (`payment.received`): stored once per payment id, applied to their
invoice's receivable by the billing run of the month received; a payment for an invoice not
issued yet waits for it; the wrong currency and more than is open are finance exceptions.

C-1 (USD, US01, tax exempt): 6 h × 200.00 = 1,200.00 invoiced for January (US01-2026-000001).
    pay 500.00 on 2026-02-10, then 700.00 on 2026-02-20: AR 1,200.00 → 700.00 → 0.00,
    cash 1,200.00; February's AR check agrees (open amount 0 = AR postings 0).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.billing_tables import payments
from syncline.adapters.db.tables import inbox
from syncline.bootstrap import Syncline
from syncline.services.ledger.queries import load_entries
from syncline.services.messaging.exceptions import list_exceptions
from tests.builders import deal, event, rejection, time_entry, worker
from tests.services.test_billing_wiring import ingest, run

D = Decimal


def payment(pid: str, number: str, amount: str, on: str, currency: str = "USD"
            ) -> dict[str, Any]:
    return event("payment.received", f"invoice/{number}", {
        "payment_id": pid, "invoice_number": number,
        "amount": {"amount": amount, "currency": currency}, "received_on": on},
        source="erp/netsuite", id_=f"payment-{pid}", time=f"{on}T15:00:00Z")


def ar_and_cash(system: Syncline) -> tuple[Decimal, Decimal]:
    chart = system.charts.of("US01")
    with system.engine.connect() as conn:
        lines = [ln for e in load_entries(conn) for ln in e.lines]
    def bal(code: str) -> Decimal:
        return sum((ln.signed for ln in lines if ln.account == code), D(0))
    return bal(chart.code("accounts_receivable")), bal(chart.code("cash"))


def january_invoice(system: Syncline) -> str:
    ingest(system, deal(), worker(), time_entry("T-1", hours="6"))
    (number,) = run(system, "2026-01").invoices
    return str(number)


def test_partial_payments_clear_the_receivable_once_each(system: Syncline) -> None:
    number = january_invoice(system)
    assert ar_and_cash(system) == (D("1200.00"), D(0))
    ingest(system, payment("PAY-1", number, "500.00", "2026-02-10"),
           payment("PAY-1", number, "500.00", "2026-02-10"),  # resent: a duplicate
           payment("PAY-2", number, "700.00", "2026-02-20"))
    with system.engine.connect() as conn:
        assert conn.execute(select(payments.c.payment_id)).scalars().all() == ["PAY-1",
                                                                                "PAY-2"]
    run(system, "2026-02")
    assert ar_and_cash(system) == (D("0.00"), D("1200.00"))
    run(system, "2026-02")  # again: nothing posts twice
    assert ar_and_cash(system) == (D("0.00"), D("1200.00"))
    with system.engine.connect() as conn:
        posted = {e.source_id: e.posting_date.isoformat()
                  for e in load_entries(conn, source_type="payment")}
    assert posted == {"PAY-1": "2026-02-10", "PAY-2": "2026-02-20"}


def test_a_payment_before_its_invoice_waits_for_it(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-1", hours="6"),
           payment("PAY-1", "US01-2026-000001", "1200.00", "2026-02-03"))
    with system.engine.connect() as conn:
        status = conn.execute(select(inbox.c.status).where(
            inbox.c.type == "payment.received")).scalar_one()
    assert status == "parked"
    run(system, "2026-01")  # numbers the invoice: the payment is released …
    system.process()  # … and applied
    run(system, "2026-02")
    assert ar_and_cash(system) == (D("0.00"), D("1200.00"))


def test_wrong_currency_and_overpayment_are_finance_exceptions(system: Syncline) -> None:
    number = january_invoice(system)
    ingest(system, payment("PAY-E", number, "100.00", "2026-02-01", currency="EUR"),
           payment("PAY-X", number, "1200.01", "2026-02-01"))
    with system.engine.connect() as conn:
        codes = sorted((e.domain, e.code) for e in list_exceptions(conn))
        assert conn.execute(select(payments)).all() == []
    assert codes == [("finance", "payment.currency_mismatch"),
                     ("finance", "payment.exceeds_open_amount")]


def test_a_payment_of_exactly_what_a_credit_note_leaves_open_is_applied(
        system: Syncline) -> None:
    """6 h + 1 h × 123.45 = 864.15 invoiced in January; the 1 h is rejected, so February's
    run credits 123.45 (a sum SQLite would make a float: 123.4500000000000028…); the
    customer pays the 740.70 still open. Open amount exactly 740.70: applied, no exception."""
    ingest(system, deal(rates=[{"role": "consultant", "rate": "123.45"}]), worker(),
           time_entry("T-1", hours="6"), time_entry("T-2", hours="1", day="2026-01-06"))
    (number,) = run(system, "2026-01").invoices
    ingest(system, rejection("T-2"))
    run(system, "2026-02")
    ingest(system, payment("PAY-1", str(number), "740.70", "2026-02-20"))
    with system.engine.connect() as conn:
        assert conn.execute(select(payments.c.amount)).scalars().all() == [D("740.70")]
        assert list_exceptions(conn) == []
    run(system, "2026-02")
    assert ar_and_cash(system) == (D("0.00"), D("740.70"))
