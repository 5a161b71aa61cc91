"""Billing invariants, for any items: lines sum to items, hard caps hold, credits reverse
exactly, runs are idempotent, every journal balances (in both currencies)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.billing.caps import Cap, CapKind, CapScope, apply_caps
from syncline.billing.credits import CreditNote, credit_note
from syncline.billing.fx import FxSnapshot
from syncline.billing.invoicing import assemble_invoice
from syncline.billing.items import BillableItem, time_item
from syncline.billing.journals import credit_note_entry, release_entry
from syncline.billing.rates import BillingIncrement, RateCard, Scope
from syncline.billing.run import ApprovedTime, ContractTerms, RunInput, run_billing_cycle
from syncline.domain.model import BillingType
from syncline.domain.reference import LegalEntity
from syncline.ledger.accounts import DEFAULT_CHART
from syncline.ledger.journal import JournalEntry, Side
from syncline.ledger.money import Money, total

FAST = settings(max_examples=120, deadline=None)
MARCH = date(2026, 3, 1)

hours = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("24"), places=2)
rates = st.decimals(min_value=Decimal("1"), max_value=Decimal("500"), places=2)


@st.composite
def items(draw: st.DrawFn, n_max: int = 12) -> list[BillableItem]:
    n = draw(st.integers(min_value=1, max_value=n_max))
    return [
        time_item(f"TE-{i}", "C-1", MARCH + timedelta(days=draw(st.integers(0, 27))),
                  draw(hours), draw(st.sampled_from(["consultant", "manager"])),
                  Money(draw(rates), "USD"), "default")
        for i in range(n)
    ]


def _invoice(its: list[BillableItem], tax_rate: Decimal = Decimal("0.2"),
             fx: FxSnapshot | None = None):  # type: ignore[no-untyped-def]
    return assemble_invoice(
        number="US01-2026-000001", entity_code="US01", contract_number="C-1",
        customer_name="Acme", currency="USD", invoice_date=date(2026, 3, 31), period="2026-03",
        items=its, tax_code="T", tax_rate=tax_rate, payment_terms_days=30,
        service_line="consulting", fx=fx)


def _balanced_in_functional(entry: JournalEntry) -> bool:
    if entry.lines[0].functional is None:
        return True
    net = sum((ln.functional.amount if ln.side is Side.DEBIT else -ln.functional.amount
               for ln in entry.lines if ln.functional is not None), Decimal(0))
    return net == 0


@FAST
@given(items())
def test_invoice_lines_sum_to_the_invoiced_items(its: list[BillableItem]) -> None:
    inv = _invoice(its)
    assert inv.subtotal == total((i.amount for i in its), "USD")
    assert sorted(k for ln in inv.lines for k in ln.item_keys) == sorted(i.key for i in its)
    by_key = {i.key: i for i in its}
    for ln in inv.lines:
        assert ln.amount == total((by_key[k].amount for k in ln.item_keys), "USD")


@FAST
@given(items(), st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=2),
       st.decimals(min_value=Decimal("0"), max_value=Decimal("0.1"), places=2),
       st.decimals(min_value=Decimal("0"), max_value=Decimal("3000"), places=2),
       st.sampled_from(list(CapKind)))
def test_a_cap_is_never_exceeded_and_splits_are_exact(
    its: list[BillableItem], limit: Decimal, tolerance: Decimal, before: Decimal, kind: CapKind,
) -> None:
    cap = Cap("NTE", CapScope.CONTRACT, "C-1", Money(limit, "USD"), kind, tolerance)
    before_m = min(Money(before, "USD"), cap.ceiling)
    result = apply_caps(its, [cap], billed_to_date={"NTE": before_m})
    billed = total((i.amount for i in result.billable), "USD")
    assert before_m + billed <= cap.ceiling
    assert result.consumed_by("NTE") == before_m + billed
    held = total((h.item.amount for h in result.held), "USD")
    shown = total((i.amount for i in result.billable if i.amount.amount > 0), "USD")
    assert shown + held == total((i.amount for i in its), "USD")  # nothing lost, nothing made
    if kind is CapKind.HARD:
        assert result.adjustments == ()
    else:
        assert result.held == ()
    for original in its:
        parts = [i for i in (*result.billable, *(h.item for h in result.held))
                 if i.split_of == original.key]
        if parts:
            assert total((p.amount for p in parts), "USD") == original.amount
            assert sum((p.quantity for p in parts), Decimal(0)) == original.quantity


@FAST
@given(items(), st.data(), st.sampled_from([Decimal(0), Decimal("0.08875"), Decimal("0.2")]))
def test_credit_notes_reverse_their_items_exactly(
    its: list[BillableItem], data: st.DataObject, tax_rate: Decimal,
) -> None:
    fx = FxSnapshot("USD", "GBP", Decimal("0.7913"), "BoE", date(2026, 3, 31))
    inv = _invoice(its, tax_rate, fx)
    keys = [i.key for i in its]
    order = data.draw(st.permutations(keys))
    cut = data.draw(st.integers(min_value=1, max_value=len(keys)))
    batches = [order[:cut], order[cut:]] if cut < len(keys) else [order]
    notes: list[CreditNote] = []
    for batch in batches:
        note = credit_note(inv, its, set(batch), number=f"CN-{len(notes)}",
                           credit_date=date(2026, 4, 2), reason="test", credited_before=notes)
        assert isinstance(note, CreditNote)
        by_key = {i.key: i for i in its}
        assert note.subtotal == -total((by_key[k].amount for k in batch), "USD")
        assert sorted(note.item_keys) == sorted(batch)
        entry = credit_note_entry(note, DEFAULT_CHART, fx=inv.fx)
        assert _balanced_in_functional(entry)
        notes.append(note)
    assert total((n.total for n in notes), "USD") == -inv.total
    assert total((n.tax for n in notes), "USD") == -inv.tax
    release = release_entry(inv, DEFAULT_CHART)
    assert _balanced_in_functional(release)


ENTITY = LegalEntity("GB01", "Northwind Consulting Ltd", "GBP", "GB")
CONTRACT = ContractTerms("C-1", "CUS-1", "Acme", "GB01", "USD", BillingType.TIME_AND_MATERIALS,
                         "GB-VAT-STD")
CARD = RateCard("STD", 1, Scope.DEFAULT, None, "USD", date(2026, 1, 1),
                (("consultant", Money.of("150", "USD")), ("manager", Money.of("250", "USD"))),
                increment=BillingIncrement(Decimal("0.25")))


@settings(max_examples=60, deadline=None)
@given(items(8), st.integers(min_value=0, max_value=6000), st.sampled_from(list(CapKind)))
def test_repeated_runs_are_idempotent_and_journals_balance(
    its: list[BillableItem], limit: int, kind: CapKind,
) -> None:
    time = tuple(ApprovedTime(i.key.removeprefix("time:"), "C-1", "P-1", "W-1", i.role,
                              i.service_date, i.quantity) for i in its)
    inp = RunInput(ENTITY, date(2026, 3, 1), date(2026, 3, 31), (CONTRACT,), time=time,
                   rate_cards=(CARD,), caps=(Cap("NTE", CapScope.CONTRACT, "C-1",
                                                 Money(Decimal(limit), "USD"), kind),),
                   fx_rates=(FxSnapshot("USD", "GBP", Decimal("0.7913"), "BoE",
                                        date(2026, 3, 31)),))
    first = run_billing_cycle(inp)
    for entry in first.journal_entries:
        assert _balanced_in_functional(entry)
    again = run_billing_cycle(replace(inp, items=first.items, last_number=first.last_number,
                                      billed_to_date=first.billed_to_date))
    assert (again.invoices, again.journal_entries, again.items) == ((), (), first.items)
    assert again.held == first.held
    billed = sum((i.subtotal.amount for i in first.invoices), Decimal(0))
    assert billed <= limit
