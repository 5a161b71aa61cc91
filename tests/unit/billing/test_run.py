"""A month's invoice run for one legal entity, read like the invoices it produces."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from syncline.billing.caps import Cap, CapKind, CapScope
from syncline.billing.expenses import ApprovedExpense, ExpensePolicy, ExpenseTerms
from syncline.billing.fx import FxSnapshot
from syncline.billing.items import ItemStatus
from syncline.billing.milestones import FixedFeeSchedule, ScheduledMilestone
from syncline.billing.rates import BillingIncrement, RateCard, Scope
from syncline.billing.retainers import RetainerTerms, Timing
from syncline.billing.run import (
    ApprovedTime,
    ContractTerms,
    CreditRequest,
    RunInput,
    RunResult,
    run_billing_cycle,
)
from syncline.domain.model import BillingType
from syncline.domain.reference import LegalEntity
from syncline.ledger.journal import Side
from syncline.ledger.money import Money

from .builders import usd

D = date.fromisoformat
US01 = LegalEntity("US01", "Northwind Consulting Inc.", "USD", "US")

TM = ContractTerms("C-1", "CUS-1", "Acme Corp", "US01", "USD", BillingType.TIME_AND_MATERIALS,
                   "US-NY-SVC", expense_terms=ExpenseTerms(ExpensePolicy.MARKUP, Decimal(10)))
FIXED = ContractTerms(
    "C-2", "CUS-2", "Globex", "US01", "USD", BillingType.FIXED_FEE, "US-EXEMPT",
    service_line="implementation",
    milestones=FixedFeeSchedule("C-2", usd("30000"), (
        ScheduledMilestone("M-1", "Design signed off", percent=Decimal(40)),
        ScheduledMilestone("M-2", "Go-live", percent=Decimal(60)))),
    milestones_completed=(("M-1", D("2026-03-20")),))
RETAINER = ContractTerms(
    "C-3", "CUS-3", "Initech", "US01", "EUR", BillingType.RETAINER, "EU-REVERSE",
    service_line="managed_services",
    retainer=RetainerTerms("C-3", Money.of("4000", "EUR"), D("2026-03-16"), None,
                           Timing.ADVANCE))
CARDS = (RateCard("STD", 1, Scope.DEFAULT, None, "USD", D("2026-01-01"),
                  (("consultant", usd("150")), ("manager", usd("250"))),
                  increment=BillingIncrement(Decimal("0.25"))),)
TIME = (
    ApprovedTime("TE-1", "C-1", "P-1", "W-1", "consultant", D("2026-03-02"), Decimal("7.9")),
    ApprovedTime("TE-2", "C-1", "P-1", "W-2", "manager", D("2026-03-03"), Decimal("4")),
    ApprovedTime("TE-3", "C-1", "P-1", "W-3", "partner", D("2026-03-04"), Decimal("1")),
)
EXPENSES = (ApprovedExpense("EX-1", "C-1", D("2026-03-05"), "travel", "Flight", usd("400")),)
RATES = (FxSnapshot("EUR", "USD", Decimal("1.0850"), "ECB", D("2026-03-31")),)


def _march(**changes: object) -> RunInput:
    base = RunInput(US01, D("2026-03-01"), D("2026-03-31"), (TM, FIXED, RETAINER),
                    time=TIME, expenses=EXPENSES, rate_cards=CARDS, fx_rates=RATES,
                    last_number="US01-2026-000041")
    return replace(base, **changes)  # type: ignore[arg-type]


def _lines(result: RunResult, number: str) -> list[tuple[str, str, str, str]]:
    inv = next(i for i in result.invoices if i.number == number)
    return [(ln.description, str(ln.quantity), ln.unit_price.canonical(), ln.amount.canonical())
            for ln in inv.lines]


def test_march_run_bills_each_contract_type() -> None:
    result = run_billing_cycle(_march())
    assert [(i.number, i.contract_number, i.total.canonical()) for i in result.invoices] == [
        ("US01-2026-000042", "C-1", "2874.30 USD"),  # 2,640.00 + 8.875 % NY tax
        ("US01-2026-000043", "C-2", "12000.00 USD"),
        ("US01-2026-000044", "C-3", "6064.52 EUR"),
    ]
    assert _lines(result, "US01-2026-000042") == [
        ("Expense 2026-03-05 travel: Flight (cost 400.00 USD + 10 %)", "1", "440.00 USD",
         "440.00 USD"),
        ("Consultant time", "8.00", "150.00 USD", "1200.00 USD"),   # 7.9 h billed as 8.00
        ("Manager time", "4.00", "250.00 USD", "1000.00 USD"),
    ]
    assert _lines(result, "US01-2026-000043") == [
        ("Milestone: Design signed off", "1", "12000.00 USD", "12000.00 USD")]
    # advance retainer from 16 March: March prorated (16/31 days) and April in advance
    assert _lines(result, "US01-2026-000044") == [
        ("Retainer fee April 2026", "1", "4000.00 EUR", "4000.00 EUR"),
        ("Retainer fee March 2026 (prorated 16/31 days)", "1", "2064.52 EUR", "2064.52 EUR"),
    ]
    c3 = result.invoices[2]
    assert c3.tax.is_zero and c3.notes[0].startswith("Reverse charge")
    assert [p.code for p in result.problems] == ["billing.rate_missing"]  # the partner hour
    assert result.last_number == "US01-2026-000044"


def test_release_journal_books_deferred_revenue_and_functional_amounts() -> None:
    result = run_billing_cycle(_march())
    entry = next(e for e in result.journal_entries if e.source_id == "US01-2026-000044")
    assert [(ln.account, ln.side, ln.amount.canonical(), ln.functional.canonical()
             if ln.functional else None, ln.fx_rate) for ln in entry.lines] == [
        ("1100", Side.DEBIT, "6064.52 EUR", "6580.00 USD", Decimal("1.0850")),
        ("4020", Side.CREDIT, "2064.52 EUR", "2240.00 USD", Decimal("1.0850")),
        ("2300", Side.CREDIT, "4000.00 EUR", "4340.00 USD", Decimal("1.0850")),
    ]


def test_running_the_same_cycle_twice_changes_nothing() -> None:
    first = run_billing_cycle(_march())
    again = run_billing_cycle(_march(items=first.items, last_number=first.last_number,
                                     billed_to_date=first.billed_to_date))
    assert (again.invoices, again.journal_entries, again.credit_notes) == ((), (), ())
    assert again.items == first.items
    assert all(i.status is ItemStatus.INVOICED for i in first.items)


def test_hard_cap_holds_and_notes_the_excess_on_the_invoice() -> None:
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("2000"), CapKind.HARD)
    result = run_billing_cycle(_march(caps=(cap,)))
    assert result.invoices[0].subtotal == usd("2000")
    assert [h.item.key for h in result.held] == ["time:TE-2#over", "expense:EX-1"]
    assert _lines(result, "US01-2026-000042") == [
        ("Consultant time", "8.00", "150.00 USD", "1200.00 USD"),
        ("Manager time", "3.2000", "250.00 USD", "800.00 USD"),
    ]
    assert result.invoices[0].notes[0].startswith("Held for approval: manager time")


def test_bad_input_becomes_problems_and_the_rest_completes() -> None:
    closed = replace(TM, project_closed_on=D("2026-03-02"))
    result = run_billing_cycle(_march(contracts=(closed, FIXED, RETAINER), fx_rates=()))
    codes = sorted(p.code for p in result.problems)
    assert codes == ["billing.fx_rate_missing", "billing.time_on_closed_project",
                     "billing.time_on_closed_project"]
    assert [i.contract_number for i in result.invoices] == ["C-1", "C-2"]  # C-3 waits for FX
    assert all(p.remediation for p in result.problems)


def test_time_rejected_after_invoicing_is_credited_and_corrected() -> None:
    march = run_billing_cycle(_march())
    inv = march.invoices[0]
    april = run_billing_cycle(_march(
        period_start=D("2026-04-01"), period_end=D("2026-04-30"), items=march.items,
        last_number=march.last_number, time=(), expenses=(),
        credit_requests=(CreditRequest(inv, ("time:TE-2",), "hours corrected to 3",
                                       corrected_hours=Decimal(3)),)))
    (note,) = april.credit_notes
    assert (note.number, note.invoice_number, note.item_keys) == (
        "US01-CN-2026-000001", inv.number, ("time:TE-2",))
    assert note.total == usd("-1088.75")  # 1,000.00 + 8.875 % tax
    c1 = next(i for i in april.invoices if i.contract_number == "C-1")
    assert c1.lines[0].item_keys == ("time:TE-2@r2",)
    assert c1.subtotal == usd("750")
    credited = next(i for i in april.items if i.key == "time:TE-2")
    assert credited.status is ItemStatus.CREDITED
    repeat = run_billing_cycle(_march(
        period_start=D("2026-04-01"), period_end=D("2026-04-30"), items=april.items,
        last_number=april.last_number, last_credit_number=april.last_credit_number,
        time=(), expenses=(), prior_credit_notes=april.credit_notes,
        credit_requests=(CreditRequest(inv, ("time:TE-2",), "hours corrected to 3",
                                       corrected_hours=Decimal(3)),)))
    assert (repeat.credit_notes, repeat.invoices, repeat.problems) == ((), (), ())
