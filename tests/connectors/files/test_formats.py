"""CSV (delimiter, encoding, byte-order mark), XLSX (typed cells, sheets, header row), JSON and
JSON lines; and the two worked examples, end to end."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from syncline.connectors.registry import Wiring, build, configured
from syncline.schemas import validate_event

from .conftest import REPO, TIME_MAPPING, make, read_all, write
from .workbooks import workbook


def _hours(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["hours"] for e in events]


def test_csv_with_a_delimiter_a_bom_and_quoted_newlines(tmp_path: Path) -> None:
    body = "\ufeffid;worker;project;date;hours\nE1;W-1;\"ac\nme\";01/06/2026;1.234,5\n"
    write(tmp_path, "in/t.csv", body)
    events, refusals, _ = read_all(make(tmp_path, TIME_MAPPING, delimiter=";"))
    assert refusals == []
    assert events[0]["data"]["time_entry_id"] == "E1"  # the BOM is not part of "id"
    assert events[0]["data"]["project_code"] == "AC\nME"
    assert _hours(events) == ["1234.5"]


def test_csv_in_a_declared_encoding(tmp_path: Path) -> None:
    body = "id,worker,project,date,hours\nE1,W-É,Zürich,01/06/2026,\"2,5\"\n"
    write(tmp_path, "in/t.csv", body.encode("cp1252"))
    events, refusals, _ = read_all(make(tmp_path, TIME_MAPPING, encoding="cp1252"))
    assert refusals == [] and events[0]["data"]["worker_id"] == "W-É"
    assert events[0]["data"]["project_code"] == "ZÜRICH"


def test_xlsx_cells_are_typed_and_numbers_never_floats(tmp_path: Path) -> None:
    mapping = json.loads(json.dumps(TIME_MAPPING))
    mapping["fields"]["work_date"] = {"column": "date", "transforms": ["date"]}
    mapping["fields"]["hours"] = {"column": "hours", "transforms": ["decimal"]}
    mapping["fields"]["time_entry_id"] = {"column": "id", "transforms": ["text"]}
    workbook(tmp_path / "in" / "t.xlsx", ["id", "worker", "project", "date", "hours"], [
        [1, "W-1", "acme", datetime(2026, 6, 1), 7.5],
        [2, "W-1", "acme", datetime(2026, 6, 2), 0.1],  # 0.1 as a double, read as "0.1"
        [None, None, None, None, None],  # a blank row is skipped
        [3, "W-1", "acme", datetime(2026, 6, 3), 8],
    ], before=[["Time report, June"], []], sheet="Time")
    events, refusals, _ = read_all(make(tmp_path, mapping, path="in/*.xlsx", sheet="Time",
                                        header_row=3))
    assert refusals == []
    assert [(e["data"]["time_entry_id"], e["data"]["work_date"]) for e in events] == [
        ("1", "2026-06-01"), ("2", "2026-06-02"), ("3", "2026-06-03")]
    assert _hours(events) == ["7.5", "0.1", "8"]


def test_json_records_at_a_path_and_nested_canonical_fields(tmp_path: Path) -> None:
    mapping = {
        "type": "expense.approved",
        "fields": {
            "expense_id": {"path": "id", "transforms": ["text"]},
            "worker_id": "user_id",
            "project_code": {"path": "workspace.code"},
            "incurred_on": {"path": "date", "transforms": ["date"]},
            "category": {"path": "category", "transforms": ["lower"]},
            "amount.amount": {"path": "amount_in_cents", "transforms": [{"multiply": "0.01"}]},
            "amount.currency": {"path": "currency", "transforms": ["upper"]},
            "approval_status": {"constant": "approved"},
            "description": {"template": "{category} for {workspace.name}"},
        },
    }
    document = {"results": {"expenses": [
        {"id": 71, "user_id": "W-1", "workspace": {"code": "ACME", "name": "Acme"},
         "date": "2026-06-03", "category": "Travel", "amount_in_cents": 12345,
         "currency": "eur"}]}}
    write(tmp_path, "in/x.json", json.dumps(document))
    events, refusals, _ = read_all(make(tmp_path, mapping, path="in/*.json",
                                        records="results.expenses"))
    assert refusals == []
    data = events[0]["data"]
    assert data["amount"] == {"amount": "123.45", "currency": "EUR"}
    assert data["description"] == "Travel for Acme"
    assert events[0]["subject"] == "expense/71"
    assert validate_event(events[0]) == []


def test_a_json_column_read_with_jmespath(tmp_path: Path) -> None:
    mapping = json.loads(json.dumps(TIME_MAPPING))
    mapping["fields"]["hours"] = {"column": "extra", "transforms": [
        "json", {"jmespath": "effort.hours"}, "decimal"]}
    mapping["fields"]["role"] = {"column": "extra", "transforms": [
        "json", {"jmespath": "assignment.role"}]}
    write(tmp_path, "in/t.csv", "id,worker,project,date,extra\nE1,W-1,acme,01/06/2026,"
          '"{""effort"": {""hours"": 6.25}, ""assignment"": {""role"": ""manager""}}"\n')
    events, refusals, _ = read_all(make(tmp_path, mapping))
    assert refusals == []
    assert (events[0]["data"]["hours"], events[0]["data"]["role"]) == ("6.25", "manager")


def _example_events() -> tuple[dict[str, list[Any]], dict[str, list[str]]]:
    (config,) = configured(REPO / "config" / "connectors" / "files.example.yaml")
    connector = build(config, Wiring(base_dir=REPO))
    events: dict[str, list[Any]] = {}
    refused: dict[str, list[str]] = {}
    for stream in connector.streams():
        for batch in stream.read(None):
            events.setdefault(stream.name, []).extend(batch.events)
            refused.setdefault(stream.name, []).extend(r.reason for r in batch.refusals)
    return events, refused


def test_the_worked_examples() -> None:
    events, refused = _example_events()
    time, workers = events["psa-time"], events["hr-workers"]
    assert all(validate_event(e) == [] for e in time + workers)
    assert [e["data"]["hours"] for e in time] == ["7.5", "8", "2.25"]
    assert time[0]["data"]["approved_at"] == "2026-06-05T15:02:00Z"  # 17:02 in Paris
    assert time[2]["data"]["billable"] is False
    assert refused["psa-time"] == [
        "time-2026-06.csv row 4 column 'Hours' (field hours): decimal: '7,5h' is not a "
        "decimal (decimal separator ',', thousands '.')",
        "time-2026-06.csv row 6 column 'Date' (field work_date): date: '31/06/2026' is not a "
        "date in '%d/%m/%Y'"]
    assert [w["data"]["cost_rate"] for w in workers] == [
        {"amount": "85.5", "currency": "EUR"}, {"amount": "62", "currency": "EUR"},
        {"amount": "0.1", "currency": "GBP"}]
    assert [w["data"]["status"] for w in workers] == ["active", "leave", "active"]
    assert workers[0]["data"]["email"] == "ada.lovelace@example.com"
    assert "email" not in workers[2]["data"]  # optional, empty
    assert [r.split(":")[0] for r in refused["hr-workers"]] == [
        "workers-2026-06.xlsx row 5 column 'Job_Profile' (field role)",
        "workers-2026-06.xlsx row 6 column 'Effective_Date' (field effective_date)"]
