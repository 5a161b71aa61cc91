"""Grouping: adjacent rows sharing a key become one event with a list (deal lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncline.schemas import validate_event

from .conftest import make, read_all, write

DEALS: dict[str, Any] = {
    "type": "deal.closed_won",
    "id": "Deal",
    "fields": {
        "deal_id": "Deal",
        "customer.external_id": "Account",
        "customer.name": "Account Name",
        "currency": {"column": "Currency", "transforms": ["upper"]},
        "contract.number": {"template": "C-{Deal}"},
        "contract.start_date": {"column": "Start", "transforms": ["date"]},
        "contract.end_date": {"column": "End", "transforms": ["date"]},
        "contract.billing_type": {"constant": "fixed_fee"},
        "project.code": {"template": "P-{Deal}"},
        "project.name": "Account Name",
        "project.template": {"constant": "implementation"},
    },
    "group": {
        "by": "Deal",
        "into": "lines",
        "item": {
            "line_id": "Line",
            "kind": {"constant": "fixed_fee"},
            "description": "Product",
            "amount": {"column": "Amount", "transforms": [{"decimal": {"thousands": ","}}]},
        },
    },
}
HEADER = "Deal,Account,Account Name,Currency,Start,End,Line,Product,Amount\n"
ROW = "{d},A-1,Acme,eur,2026-07-01,2027-06-30,{line},{product},\"{amount}\"\n"


def _row(deal: str, line: str, amount: str, product: str = "Setup") -> str:
    return ROW.format(d=deal, line=line, product=product, amount=amount)


def test_rows_sharing_a_key_become_one_event_with_lines(tmp_path: Path) -> None:
    write(tmp_path, "in/deals.csv", HEADER + _row("D1", "L1", "10,000.00")
          + _row("D1", "L2", "2,500.50", "Training") + _row("D2", "L1", "900"))
    events, refusals, _ = read_all(make(tmp_path, DEALS))
    assert refusals == []
    assert [e["subject"] for e in events] == ["deal/D1", "deal/D2"]
    assert events[0]["data"]["lines"] == [
        {"line_id": "L1", "kind": "fixed_fee", "description": "Setup", "amount": "10000.00"},
        {"line_id": "L2", "kind": "fixed_fee", "description": "Training", "amount": "2500.50"}]
    assert events[0]["data"]["customer"] == {"external_id": "A-1", "name": "Acme"}
    assert events[0]["data"]["contract"]["number"] == "C-D1"
    assert all(validate_event(e) == [] for e in events)


def test_a_bad_line_refuses_its_whole_group_naming_the_line_row(tmp_path: Path) -> None:
    write(tmp_path, "in/deals.csv", HEADER + _row("D1", "L1", "10") + _row("D1", "L2", "1.5x")
          + _row("D2", "L1", "900"))
    events, refusals, _ = read_all(make(tmp_path, DEALS))
    assert [e["subject"] for e in events] == ["deal/D2"]
    assert refusals[0].reason.startswith("deals.csv row 3 column 'Amount' (field amount)")
    assert "rows" in refusals[0].raw and '"row": 2' in refusals[0].raw  # both rows kept raw


def test_a_schema_problem_in_a_line_names_that_line_row(tmp_path: Path) -> None:
    write(tmp_path, "in/deals.csv", HEADER + _row("D1", "L1", "10") + _row("D1", "", "5"))
    _, refusals, _ = read_all(make(tmp_path, DEALS))
    assert refusals[0].reason == "deals.csv row 3 column 'Line' (field line_id): is empty"


def test_an_interrupted_group_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "in/deals.csv", HEADER + _row("D1", "L1", "10") + _row("D2", "L1", "9")
          + _row("D1", "L2", "5"))
    events, refusals, _ = read_all(make(tmp_path, DEALS))
    assert [len(e["data"]["lines"]) for e in events] == [1, 1]
    assert refusals[0].reason == ("deals.csv row 4 column 'Deal': group 'D1' began at row 2 "
                                  "and was interrupted: sort the file by the group column")
