"""Property: the lean path of approved expenses (`handlers/expense_lean.LeanExpense`) decides
what `expenses.decide_expense` (the reference) decides — the same outcome, expense row and
billable item row — for generated expenses (contracts at cost, marked up, not rebilling, in
another currency; receipts in the contract's currency or another, amounts with more decimals
than the currency has, not billable, not approved, of unknown projects, of projects waiting
for their activation), and leaves to the reference only what is not its common case."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncline.bootstrap import Syncline
from syncline.services.billing.fx import load_fx_rates
from syncline.services.billing.run.items import item_row
from syncline.services.handlers.expense_lean import LeanExpense
from syncline.services.handlers.expenses import _expense_terms, decide_expense
from syncline.services.messaging.unit import Unit
from tests.builders import deal
from tests.conftest import fixed_clock
from tests.property.lean_support import mostly, processed_firm
from tests.services.test_rate_cards_close_fx import fx_published


def _terms(deal_id: str, number: str, project: str, expenses: dict[str, str],
           currency: str = "USD") -> dict[str, Any]:
    d = deal(deal_id, number=number, project=project, currency=currency)
    d["data"]["billing_terms"] = {"expenses": expenses}
    return d


FIRM = [
    deal("D-1", number="C-1", project="P-1"),
    _terms("D-2", "C-2", "P-2", {"policy": "markup", "markup_percent": "12.5"}),
    _terms("D-3", "C-3", "P-3", {"policy": "not_billable"}),
    _terms("D-4", "C-4", "P-4", {"policy": "markup", "markup_percent": "0"}, currency="EUR"),
    fx_published("EUR", {"USD": "1.10"}), fx_published("USD", {"EUR": "0.90"}),
]
CURRENCY = {"P-1": "USD", "P-2": "USD", "P-3": "USD", "P-4": "EUR"}


@pytest.fixture(scope="module")
def firm() -> Iterator[Syncline]:
    yield from processed_firm(FIRM)


expenses = st.fixed_dictionaries({
    "expense_id": st.sampled_from(["E-1", "E 2"]),
    "worker_id": st.sampled_from(["W-1", "W-2"]),
    "project_code": mostly(["P-1", "P-2", "P-3", "P-4"], ["P-404"]),
    "incurred_on": st.sampled_from(["2026-01-08", "2026-02-28"]),
    "category": st.sampled_from(["travel", "meals"]),
    "amount": st.fixed_dictionaries({
        "amount": st.sampled_from(["100", "99.995", "0", "12.345", "1200.50", "0.004"]),
        "currency": mostly(["USD", "EUR"], ["GBP"])}),
}, optional={
    "description": st.sampled_from(["", "taxi to client", None]),
    "billable": st.booleans(),
    "approval_status": mostly(["approved"], ["submitted"]),
})


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(expenses, min_size=1, max_size=12), st.booleans())
def test_the_lean_path_decides_what_the_reference_decides(
        firm: Syncline, drawn: list[dict[str, Any]], activation: bool) -> None:
    ref = dataclasses.replace(firm.ref, activation_required=activation)
    with firm.engine.connect() as conn:
        b = Unit(conn=conn, ref=ref, now=fixed_clock())
        lean = LeanExpense(b)

        def terms_of(number: str) -> Any:
            return _expense_terms(conn, number)

        for n, data in enumerate(drawn):
            b.inbox_id = f"in-{n}"
            reference = decide_expense(b, data, False, terms_of, lambda: load_fx_rates(conn))
            fast = lean.decide(data, terms_of)
            common = reference.row is not None and data["amount"]["currency"] == CURRENCY.get(
                data["project_code"])
            assert (fast is not None) == common, (data, reference.outcome)
            if fast is None:
                continue
            outcome, row, item = fast
            assert outcome == reference.outcome
            assert row == reference.row and list(row) == list(reference.row or ())
            expected = None if reference.item is None else item_row(reference.item)
            assert item == expected
            assert item is None or list(item) == list(expected or ())


def test_the_cases_are_met(firm: Syncline) -> None:
    with firm.engine.connect() as conn:
        b = Unit(conn=conn, ref=firm.ref, now=fixed_clock())
        lean = LeanExpense(b)

        def fast(**kw: Any) -> Any:
            data = {"expense_id": "E-1", "worker_id": "W-1", "project_code": "P-1",
                    "incurred_on": "2026-01-08", "category": "travel",
                    "amount": {"amount": "99.995", "currency": "USD"}, **kw}
            return lean.decide(data, lambda n: _expense_terms(conn, n))

        assert fast()[2]["amount"] == fast()[2]["unit_price"] == 100  # rounded half up
        marked_up = fast(project_code="P-2")[2]
        assert marked_up["amount"] == 112.5 and "(cost 100.00 USD + 12.5 %)" in \
            marked_up["description"]
        assert fast(project_code="P-3")[0].note == "the contract does not rebill expenses"
        assert fast(project_code="P-4") is None  # in USD on a EUR contract: the reference
        assert fast(billable=False)[2] is None
