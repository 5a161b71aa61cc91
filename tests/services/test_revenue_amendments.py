"""A price-only change (`change_price`) is classified by the standard's tests and applied
(issue 9, finding 4; ASC 606-10-25-12 / 25-13, IFRS 15.20-21): no goods are added, so it is
never a separate contract; prospective when the remaining services are distinct, otherwise a
cumulative catch-up. Rule in docs/revenue.md "Amendments in the wired flow".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from syncline.bootstrap import Syncline
from syncline.revenue import compute_schedule
from syncline.services.revenue.facts import build_contract
from syncline.services.revenue.sync import DEFAULT_POLICY
from tests.builders import deal, event
from tests.services.test_deal_to_invoice import ingest


def price_change(amount: str, effective: str, **flags: bool) -> dict[str, Any]:
    return event("contract.amended", "deal/D-1", {
        "deal_id": "D-1", "amendment_id": "A-1", "effective_date": effective,
        "changes": [{"action": "change_price", "line_id": "L1", "amount": amount, **flags}],
        "reason": "price renegotiated"}, sequence=2)


def schedule(system: Syncline, as_of: date) -> Any:
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
    assert rc is not None
    return compute_schedule(rc, DEFAULT_POLICY, as_of)


def months(r: Any, n: int) -> list[Decimal]:
    return [Decimal(v) / 100 for v in r.revenue_by_period()[:n]]


def fixed_fee_with_milestone_accepted(system: Syncline) -> None:
    ingest(system, deal(billing_type="fixed_fee", amount="10000", milestones=[
        {"milestone_id": "M-1", "name": "Design", "amount": "4000"},
        {"milestone_id": "M-2", "name": "Go-live", "amount": "6000"}]),
        event("milestone.completed", "milestone/M-1", {
            "milestone_id": "M-1", "project_code": "P-1", "completed_on": "2026-01-20",
            "evidence": {"accepted_by": "CFO"}}))


def test_price_change_of_a_partly_satisfied_obligation_is_a_cumulative_catch_up(
        system: Syncline) -> None:
    """Fixed fee 10,000.00 by milestones, M-1 (weight 4,000 of 10,000) accepted in January:
    4,000.00. From 2026-02-01 the price is 12,000.00, CPQ saying the price is at SSP and the
    services are not distinct: 25-13(b), 40 % of 12,000.00 = 4,800.00, a catch-up of +800.00
    in February (before: refused, "a separate contract needs added goods")."""
    fixed_fee_with_milestone_accepted(system)
    ingest(system, price_change("12000", "2026-02-01", priced_at_ssp=True, distinct=False))
    r = schedule(system, date(2026, 2, 28))
    (d,) = r.decisions
    assert d.treatment.value == "cumulative_catch_up"
    assert d.citation.startswith("ASC 606-10-25-13(b)")
    assert months(r, 2) == [Decimal("4000"), Decimal("800")]
    assert [(c.period, c.amount) for c in r.catch_ups] == [("2026-02", 80000)]


def test_stated_distinct_price_change_is_prospective_never_separate(system: Syncline) -> None:
    """The same change stated priced at SSP *and* distinct (the flags that made it a separate
    contract and a refusal): nothing is added, so test 1 is no; the remaining services are
    stated distinct, so 25-13(a): recognised 4,000.00 kept, the unrecognised 6,000.00 +
    2,000.00 = 8,000.00 goes to what remains (M-2 alone): nothing more until M-2."""
    fixed_fee_with_milestone_accepted(system)
    ingest(system, price_change("12000", "2026-02-01", priced_at_ssp=True, distinct=True))
    r = schedule(system, date(2026, 2, 28))
    (d,) = r.decisions
    assert d.treatment.value == "termination_and_new_contract"
    assert d.tests[0].answer is False and "price" in d.tests[0].reason
    assert months(r, 2) == [Decimal("4000"), Decimal("0")]
    assert r.line("L1").allocated[1] == 1200000


def test_retainer_fee_change_is_prospective_from_its_date(system: Syncline) -> None:
    """Retainer 1,000.00 a month for 2026; from 2026-04-01 1,500.00 a month. A series of
    distinct months (25-13(a)): January to March 1,000.00 each are kept; the rest, 9 ×
    1,000.00 unrecognised + 9 × 500.00 added = 13,500.00, over the nine months left:
    1,500.00 a month."""
    ingest(system, deal(billing_type="retainer", amount="1000"),
           price_change("1500", "2026-04-01"))
    r = schedule(system, date(2026, 4, 30))
    assert r.decisions[0].treatment.value == "termination_and_new_contract"
    assert months(r, 5) == [Decimal("1000")] * 3 + [Decimal("1500")] * 2
    assert r.line("L1").allocated[-1] == 1650000


def test_mid_month_fee_change_is_prospective_from_its_day(system: Syncline) -> None:
    """Retainer 2,000.00 a month for 2026; from 2026-02-15 2,600.00 (billing prorates
    February: 2,000 × 14/28 + 2,600 × 14/28 = 2,300.00). Price after the change: 24,000 +
    600 × 10.5 = 30,300.00. Recognised to 2026-02-14: January and 14/28 of February =
    3,000.00 (before: the whole months only, 2,000.00, so 28,300 / 11 = 2,572.73 a month
    followed); the rest 27,300.00 over 10.5 months = 2,600.00 a month: February 1,000.00 +
    1,300.00 = 2,300.00, March 2,600.00 — revenue equal to what is billed."""
    ingest(system, deal(billing_type="retainer", amount="2000"),
           price_change("2600", "2026-02-15"))
    r = schedule(system, date(2026, 3, 31))
    assert r.decisions[0].treatment.value == "termination_and_new_contract"
    assert months(r, 3) == [Decimal("2000"), Decimal("2300"), Decimal("2600")]
