"""The contract statement: one contract's month from the stored books, each figure with its
source items, worked out by hand.

The firm (revenue-engine mode, the default): contract C-1 (US01, USD, T&M, consultant at
200.00/h, tax exempt), worker W-1 at 80.00/h cost, a soft cap NTE-1 of 2,000.00 (no
tolerance).

- January: T-1 8 h (2026-01-05) = 1,600.00 and T-2 4 h (2026-01-06) = 800.00. The cap
  takes 1,600.00 + 400.00 of T-2 (2 h); the other 400.00 (2 h) is shown and written off.
  Invoice US01-2026-000001: 1,600.00 + 400.00 + 400.00 − 400.00 = 2,000.00. Revenue
  (right to invoice) 2,000.00; nothing unbilled or billed ahead: balance 0.
  Labor cost 12 h × 80.00 = 960.00. January closes and locks.
- February: T-1 is rejected (2026-02-03). The credit note takes back 1,600.00 (dated
  2026-02-28); revenue −1,600.00 in February (the true-up); labor cost: January's 8 h × 80.00
  = 640.00 reversed in February → −640.00; February has no time of its own.

| month | billed | credits | revenue | to date | balance | write-off | labor |
|---|---|---|---|---|---|---|---|
| 2026-01 | 2,000.00 | 0 | 2,000.00 | 2,000.00 | 0 | 400.00 | 960.00 |
| 2026-02 | 0 | 1,600.00 | −1,600.00 | 400.00 | 0 | 0 | −640.00 |
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from syncline.bootstrap import Syncline
from syncline.services.ledger.reports import report_options
from syncline.services.ledger.statements import (
    LABOR_OTHER,
    UnknownContract,
    contract_statement,
)
from tests.builders import deal, rejection, time_entry, worker
from tests.services.test_close_credit_notes import close_month, ingest, not_agreeing

FIGURES = ("billed", "credits", "revenue", "revenue_to_date", "balance", "cap_write_off",
           "labor_cost")


def capped_deal() -> dict[str, Any]:
    d = deal()
    d["data"]["billing_terms"] = {"caps": [{"cap_id": "NTE-1", "scope": "contract",
                                            "limit": "2000.00", "kind": "soft",
                                            "tolerance": "0"}]}
    return d


def statement(system: Syncline, period: str, number: str = "C-1",
              as_of: str = "close") -> dict[str, Any]:
    with system.engine.connect() as conn:
        return contract_statement(conn, number, period, report_options(system),
                                  as_of=as_of).as_dict()


def figures(body: dict[str, Any]) -> tuple[Decimal, ...]:
    return tuple(Decimal(body[k]) for k in FIGURES)


def firm(system: Syncline) -> None:
    ingest(system, capped_deal(), worker(), time_entry("T-1"),
           time_entry("T-2", hours="4", day="2026-01-06"))
    jan = close_month(system, "2026-01")
    assert jan["lock"]["US01"] == "locked", not_agreeing(jan)
    late = rejection("T-1")
    late["time"] = "2026-02-03T10:00:00Z"
    ingest(system, late)
    feb = close_month(system, "2026-02")
    assert feb["lock"]["US01"] == "locked", not_agreeing(feb)


def test_statement_figures_by_month(system: Syncline) -> None:
    firm(system)
    assert figures(statement(system, "2026-01")) == tuple(Decimal(x) for x in (
        "2000.00", "0", "2000.00", "2000.00", "0", "400.00", "960.00"))
    assert figures(statement(system, "2026-02")) == tuple(Decimal(x) for x in (
        "0", "1600.00", "-1600.00", "400.00", "0", "0", "-640.00"))


def test_each_figure_comes_with_its_source_items(system: Syncline) -> None:
    firm(system)
    jan = statement(system, "2026-01")
    (invoice,) = jan["sources"]["invoices"]
    assert (invoice["number"], invoice["subtotal"]) == ("US01-2026-000001", "2000.00")
    items = [i for line in invoice["lines"] for i in line["items"]]
    assert {"time:T-1", "adjustment:cap:NTE-1:time:T-2#over"} <= set(items)
    assert jan["sources"]["cap_write_offs"] == [{
        "item": "adjustment:cap:NTE-1:time:T-2#over", "adjusts": ["time:T-2#over"],
        "amount": "400.00", "invoice": "US01-2026-000001"}]
    # the month's time as known now (T-1 was rejected later), and what reconciles it to the
    # cost as reported at January's close: 960.00 − 320.00 = 640.00
    assert jan["sources"]["labor"] == [
        {"time_entry": "T-2", "worker": "W-1", "project": "P-1", "date": "2026-01-06",
         "hours": "4", "cost": "320.00", "currency": "USD"},
        {"other": "640.00", "note": LABOR_OTHER}]
    assert [(e["source_id"], e["revenue"]) for e in jan["sources"]["journal_entries"]] == [
        ("US01-2026-000001", "0"), ("revenue:C-1:2026-01", "2000.00")]
    feb = statement(system, "2026-02")
    (note,) = feb["sources"]["credit_notes"]
    assert (note["number"], note["invoice"], note["subtotal"]) == (
        "US01-CN-2026-000001", "US01-2026-000001", "-1600.00")
    assert note["lines"][0]["items"] == ["time:T-1"]
    assert feb["sources"]["labor"] == [{"other": "-640.00", "note": LABOR_OTHER}]
    assert (feb["contract"], feb["entity"], feb["currency"]) == ("C-1", "US01", "USD")


def test_a_closed_months_statement_as_reported_and_as_known_now(system: Syncline) -> None:
    """After February's rejection, January's labor cost as reported stays 960.00; as known
    now it is T-2's 4 h × 80.00 = 320.00. The documents and the GL figures do not move."""
    firm(system)
    reported, now = statement(system, "2026-01"), statement(system, "2026-01", as_of="now")
    assert (reported["labor_cost"], now["labor_cost"]) == ("960.00", "320.00")
    assert figures(reported)[:6] == figures(now)[:6]


def test_an_unknown_contract_or_period_is_refused(system: Syncline) -> None:
    with pytest.raises(UnknownContract):
        statement(system, "2026-01", number="C-404")
    with pytest.raises(ValueError, match="YYYY-MM"):
        statement(system, "2026-1")
