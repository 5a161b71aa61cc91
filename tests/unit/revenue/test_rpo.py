"""Remaining performance obligations (ASC 606-10-50-13 / IFRS 15.120): the time buckets and
the practical expedients (606-10-50-14), each at its exact edge.

Default policy: buckets at 12 and 24 months ("1-12 months", "13-24 months", "after 24
months"), both expedients on. Amounts are in minor units (cents).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from syncline.revenue import RevenueContract, RevenuePolicy, compute_schedule, remaining_obligations
from syncline.revenue.model import (
    Convention,
    Estimate,
    Method,
    MethodKind,
    Obligation,
    Ssp,
    SspMethod,
)

POLICY = RevenuePolicy()
LABELS = ("1-12 months", "13-24 months", "after 24 months")
ONE_YEAR = "original expected duration one year or less (606-10-50-14(a))"


def ratable(oid: str, start: date, end: date, price: str) -> Obligation:
    return Obligation(oid, oid, Method(MethodKind.RATABLE, convention=Convention.MONTHLY_EVEN),
                      Ssp(SspMethod.OBSERVABLE, amount=D(price)), start, end, D(price))


def cost_to_cost(oid: str, start: date, end: date, price: str) -> Obligation:
    return Obligation(oid, oid, Method(MethodKind.COST_TO_COST),
                      Ssp(SspMethod.OBSERVABLE, amount=D(price)), start, end, D(price))


def test_policy_defaults_are_what_these_tests_assume() -> None:
    assert POLICY.rpo_buckets_months == (12, 24)
    assert POLICY.rpo_expedient_one_year and POLICY.rpo_expedient_right_to_invoice


def test_scheduled_revenue_exactly_12_and_24_months_ahead_is_in_the_earlier_bucket() -> None:
    """25 months (2025-01 .. 2027-01) at 100.00 a month; as of 2025-01-31, 2,400.00 remains.

    Months ahead of the as-of period: 2025-02 is 1, 2026-01 is 12 (the last of "1-12
    months"), 2026-02 is 13, 2027-01 is 24 (the last of "13-24 months"). Hence
    1,200.00 / 1,200.00 / 0.00. (Were an edge exclusive: 1,100.00 / 1,200.00 / 100.00.)
    """
    c = RevenueContract("RPO-1", "USD", date(2025, 1, 1), obligations=(
        ratable("svc", date(2025, 1, 1), date(2027, 1, 31), "2500"),))
    rpo = remaining_obligations(compute_schedule(c, POLICY, date(2025, 1, 31)))
    assert rpo.bucket_labels == LABELS
    (line,) = rpo.lines
    assert line.remaining == 240000
    assert line.buckets == (120000, 120000, 0)
    assert line.expedient == ""  # 25 months: no expedient
    assert rpo.total == rpo.disclosed == 240000


@pytest.mark.parametrize(("end", "buckets"), [
    (date(2026, 1, 31), (100000, 0, 0)),  # ends 12 months after the as-of month: 1-12
    (date(2026, 2, 1), (0, 100000, 0)),  # 13 months: 13-24
    (date(2027, 1, 31), (0, 100000, 0)),  # 24 months: 13-24
    (date(2027, 2, 1), (0, 0, 100000)),  # 25 months: after 24
])
def test_unscheduled_remainder_goes_to_the_bucket_of_the_obligations_end(
        end: date, buckets: tuple[int, int, int]) -> None:
    """Cost-to-cost with no cost incurred yet: nothing is scheduled ahead, so the whole
    1,000.00 is placed by the months from the as-of month (2025-01) to the end month."""
    c = RevenueContract("RPO-2", "USD", date(2025, 1, 1),
                        obligations=(cost_to_cost("build", date(2025, 1, 1), end, "1000"),),
                        estimates=(Estimate("build", date(2025, 1, 1), D("500")),))
    (line,) = remaining_obligations(compute_schedule(c, POLICY, date(2025, 1, 31))).lines
    assert (line.remaining, line.buckets) == (100000, buckets)


@pytest.mark.parametrize(("end", "expedient"), [
    # 2024 is a leap year: 2024-01-01 .. 2024-12-31 is one year (366 days, end - start = 365)
    (date(2024, 12, 31), ONE_YEAR),
    # one day more is more than one year: disclosed
    (date(2025, 1, 1), ""),
])
def test_one_year_expedient_at_its_edge(end: date, expedient: str) -> None:
    c = RevenueContract("RPO-3", "USD", date(2024, 1, 1), obligations=(
        ratable("svc", date(2024, 1, 1), end, "1200"),))
    rpo = remaining_obligations(compute_schedule(c, POLICY, date(2024, 1, 1)))
    (line,) = rpo.lines
    assert line.remaining == 120000
    assert line.expedient == expedient
    assert rpo.total == 120000
    assert rpo.disclosed == (0 if expedient else 120000)


def test_expedient_lines_are_left_out_of_the_disclosed_totals_only() -> None:
    """Two obligations, as of 2024-01-31 (1 month of each recognised):

    - short: 2024-01-01 .. 2024-12-31 (a leap year, one year), 1,200.00: 1,100.00 remains,
      in "1-12 months", left out of the disclosure by the one-year expedient;
    - long: 2024-01-01 .. 2025-12-31 (24 months), 2,400.00: 2,300.00 remains, 1,200.00 in
      months 1-12 (2024-02 .. 2025-01) and 1,100.00 in months 13-23 (2025-02 .. 2025-12).
    """
    c = RevenueContract("RPO-4", "USD", date(2024, 1, 1), obligations=(
        ratable("short", date(2024, 1, 1), date(2024, 12, 31), "1200"),
        ratable("long", date(2024, 1, 1), date(2025, 12, 31), "2400")))
    rpo = remaining_obligations(compute_schedule(c, POLICY, date(2024, 1, 31)))
    lines = {ln.obligation_id: ln for ln in rpo.lines}
    assert (lines["short"].remaining, lines["short"].buckets, lines["short"].expedient) == (
        110000, (110000, 0, 0), ONE_YEAR)
    assert (lines["long"].remaining, lines["long"].buckets, lines["long"].expedient) == (
        230000, (120000, 110000, 0), "")
    assert rpo.total == 340000
    assert rpo.disclosed == 230000
    assert rpo.bucket_totals() == (230000, 110000, 0)
    assert rpo.bucket_totals(disclosed_only=True) == (120000, 110000, 0)


def test_expedients_can_be_switched_off() -> None:
    c = RevenueContract("RPO-5", "USD", date(2024, 1, 1), obligations=(
        ratable("svc", date(2024, 1, 1), date(2024, 12, 31), "1200"),))
    policy = RevenuePolicy(rpo_expedient_one_year=False)
    (line,) = remaining_obligations(compute_schedule(c, policy, date(2024, 1, 1))).lines
    assert line.expedient == ""
