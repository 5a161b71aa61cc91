"""The revenue file format carries the issue 9 additions: ``monthly_rate``, a documented
manual allocation, and foreign-currency rates (docs/revenue-contract-format.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import yaml

from syncline.revenue import compute_schedule
from syncline.services.revenue.files import ContractFileError, parse

FILE = """
format: syncline.revenue/v1
policy: {ratable_convention: monthly_rate}
contract:
  id: MAN-1
  currency: USD
  start: 2025-01-15
  fixed_price: "1200.00"
  obligations:
    - {id: support, description: Support, start: 2025-01-15, end: 2026-01-14,
       ssp: {method: observable, amount: "1000.00"}, method: {kind: ratable}}
    - {id: setup, description: Setup, start: 2025-01-15, end: 2025-01-15,
       ssp: {method: observable, amount: "400.00"}, method: {kind: point_in_time}}
  allocation_override:
    amounts: {support: "1000.00", setup: "200.00"}
    reason: "setup discounted by the 2025 campaign"
    approved_by: "A. Controller"
    approved_on: 2025-01-10
"""


def test_manual_allocation_and_monthly_rate_from_a_file() -> None:
    f = parse(yaml.safe_load(FILE))
    r = compute_schedule(f.contract, f.policy, date(2025, 2, 28))
    assert {a.obligation_id: a.total for a in r.segments[0].allocation.lines} == {
        "support": 100000, "setup": 20000}
    # 1,000.00 over 12 months: January 17/31 of 83.33 = 45.70, February 83.33
    assert r.line("support").revenue[:2] == (4570, 8333)


def test_a_manual_allocation_without_an_approver_is_refused_by_the_schema() -> None:
    data = yaml.safe_load(FILE)
    del data["contract"]["allocation_override"]["approved_by"]
    with pytest.raises(ContractFileError, match="approved_by"):
        parse(data)


def test_parts_not_summing_to_the_price_are_refused() -> None:
    data = yaml.safe_load(FILE)
    data["contract"]["allocation_override"]["amounts"]["setup"] = "199.99"
    f = parse(data)
    with pytest.raises(ValueError, match="sum exactly"):
        compute_schedule(f.contract, f.policy, date(2025, 2, 28))
    assert Decimal("1199.99") != f.contract.fixed_price


FX_FILE = """
format: syncline.revenue/v1
contract:
  id: FX-1
  currency: EUR
  functional_currency: USD
  start: 2026-01-01
  obligations:
    - {id: advice, description: Advice, start: 2026-01-01, end: 2026-01-31, price: "10000.00",
       ssp: {method: observable, amount: "10000.00"}, method: {kind: point_in_time}}
  invoices:
    - {id: INV-1, date: 2026-01-31, amount: "10000.00", rate: "1.0800", rate_source: ECB}
  payments:
    - {invoice: INV-1, date: 2026-03-02, amount: "10000.00", rate: "1.0650"}
"""


def test_fx_rates_in_the_file_and_the_schedule_json() -> None:
    from syncline.services.revenue.views import schedule_json

    f = parse(yaml.safe_load(FX_FILE))
    body = schedule_json(compute_schedule(f.contract, f.policy, date(2026, 3, 31)))
    assert body["fx"]["total_gain_loss"] == "-150.00"
    (row,) = body["fx"]["realized"]
    assert (row["at_invoice"], row["at_settlement"], row["invoice_rate"]) == (
        "10800.00", "10650.00", "1.0800")


def test_a_float_rate_is_refused() -> None:
    data = yaml.safe_load(FX_FILE)
    data["contract"]["payments"][0]["rate"] = 1.065
    with pytest.raises(ContractFileError, match="rate"):
        parse(data)
