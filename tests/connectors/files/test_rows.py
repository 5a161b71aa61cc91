"""Rows that fail are refusals naming the file, the row and the column; the rest go on.
Through the real stream and, for storage, ``run_stream`` into a SQLite inbox."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from syncline.bootstrap import Syncline
from syncline.connectors.runs import run_stream
from syncline.schemas import validate_event

from .conftest import TIME_HEADER, TIME_MAPPING, make, read_all, write
from .workbooks import workbook

GOOD = "E1,W-1,acme,01/06/2026,\"7,5\"\n"


def _only_refusal(tmp_path: Path, body: str | bytes, mapping: object = TIME_MAPPING,
                  **stream: object) -> tuple[list[dict[str, object]], str, str]:
    write(tmp_path, "in/t.csv", body)
    events, refusals, _ = read_all(make(tmp_path, mapping, **stream))
    assert len(refusals) == 1, [r.reason for r in refusals]
    return events, refusals[0].reason, refusals[0].field


def test_a_bad_date_names_file_row_and_column(tmp_path: Path) -> None:
    events, reason, column = _only_refusal(
        tmp_path, TIME_HEADER + GOOD + "E2,W-1,acme,31/06/2026,8\n" + GOOD.replace("E1", "E3"))
    assert reason == ("t.csv row 3 column 'date' (field work_date): date: '31/06/2026' is not "
                      "a date in '%d/%m/%Y'")
    assert column == "date"
    assert [e["data"]["time_entry_id"] for e in events] == ["E1", "E3"]  # the rest goes on


def test_a_bad_decimal(tmp_path: Path) -> None:
    _, reason, column = _only_refusal(tmp_path, TIME_HEADER + "E2,W-1,acme,01/06/2026,8.5\n")
    assert "t.csv row 2 column 'hours' (field hours): decimal: '8.5' is not a decimal" in reason
    assert column == "hours"


def test_a_missing_column(tmp_path: Path) -> None:
    events, reason, column = _only_refusal(tmp_path, "id,worker,project,date\n"
                                           "E1,W-1,acme,01/06/2026\n")
    assert reason == "t.csv row 2 column 'hours' (field hours): not in the file's header"
    assert column == "hours" and events == []


def test_an_empty_required_cell(tmp_path: Path) -> None:
    _, reason, _ = _only_refusal(tmp_path, TIME_HEADER + "E1,,acme,01/06/2026,8\n")
    assert reason == "t.csv row 2 column 'worker' (field worker_id): is empty"


def test_a_short_row_and_a_long_row(tmp_path: Path) -> None:
    write(tmp_path, "in/t.csv", TIME_HEADER + "E1,W-1,acme,01/06/2026\n"
          "E2,W-1,acme,01/06/2026,7,5\n" + GOOD)
    events, refusals, _ = read_all(make(tmp_path, TIME_MAPPING))
    reasons = [r.reason for r in refusals]
    assert reasons == [
        "t.csv row 2 column 'hours' (field hours): the row has 4 cell(s), the header 5",
        "t.csv row 3 column '(row)': the row has 6 cells, the header 5 (a delimiter or quote "
        "inside a value?)"]
    assert len(events) == 1


def test_a_column_named_twice_in_the_header(tmp_path: Path) -> None:
    _, reason, _ = _only_refusal(tmp_path, "id,worker,project,date,hours,hours\n"
                                 "E1,W-1,acme,01/06/2026,8,9\n")
    assert reason.endswith("column 'hours' (field hours): is in the file's header twice")


def test_bytes_that_are_not_text_refuse_only_their_row(tmp_path: Path) -> None:
    body = (TIME_HEADER + GOOD).encode() + b"E2,W-\xff,acme,01/06/2026,8\n"
    events, reason, _ = _only_refusal(tmp_path, body)
    assert reason == ("t.csv row 3 column 'worker' (field worker_id): holds bytes that are not "
                      "text in the file's encoding")
    assert len(events) == 1


def test_a_schema_problem_names_the_column_that_fed_it(tmp_path: Path) -> None:
    mapping = json.loads(json.dumps(TIME_MAPPING))
    mapping["fields"]["role"] = {"column": "role"}  # a code: at most 100 characters
    _, reason, column = _only_refusal(tmp_path, "id,worker,project,date,hours,role\n"
                                      "E1,W-1,acme,01/06/2026,8," + "r" * 101 + "\n", mapping)
    assert reason.startswith("t.csv row 2 column 'role' (field role): the event's data.role: ")
    assert reason.endswith("is too long (maxLength)")
    assert column == "role"


def test_an_unreadable_workbook_is_one_refusal_naming_the_file(tmp_path: Path) -> None:
    write(tmp_path, "in/hr.xlsx", b"PK\x03\x04 not really a zip")
    events, refusals, cursors = read_all(make(tmp_path, TIME_MAPPING, path="in/*.xlsx"))
    assert events == [] and len(refusals) == 1
    assert refusals[0].reason.startswith("hr.xlsx: not an XLSX workbook")
    assert refusals[0].field == "(file)"
    assert cursors[-1] is not None  # recorded: not retried until the file changes


def test_a_missing_sheet(tmp_path: Path) -> None:
    workbook(tmp_path / "in" / "hr.xlsx", ["id"], [["1"]], sheet="People")
    _, refusals, _ = read_all(make(tmp_path, TIME_MAPPING, path="in/*.xlsx", sheet="Workers"))
    assert refusals[0].reason == "hr.xlsx: no sheet 'Workers'; sheets: People"


def test_a_bad_json_line_refuses_that_line_only(tmp_path: Path) -> None:
    mapping = json.loads(json.dumps(TIME_MAPPING))
    mapping["fields"]["hours"] = {"path": "hours", "transforms": ["decimal"]}
    mapping["fields"]["work_date"] = {"path": "date", "transforms": ["date"]}
    line = {"id": "E1", "worker": "W-1", "project": "acme", "date": "2026-06-01", "hours": 7.5}
    write(tmp_path, "in/t.jsonl", json.dumps(line) + "\n{oops\n"
          + json.dumps({**line, "id": "E2"}) + "\n")
    events, refusals, _ = read_all(make(tmp_path, mapping, path="in/*.jsonl"))
    assert [e["data"]["hours"] for e in events] == ["7.5", "7.5"]
    assert refusals[0].reason.startswith("t.jsonl row 2 column '(row)': not a JSON value")


def test_refused_rows_are_stored_rejected_and_the_rest_accepted(
        tmp_path: Path, system: Syncline) -> None:
    write(tmp_path, "in/t.csv", TIME_HEADER + GOOD + "E2,W-1,acme,31/06/2026,8\n"
          + GOOD.replace("E1", "E3"))
    stream = make(tmp_path, TIME_MAPPING).streams()[0]
    result = run_stream(system.engine, "imp", stream, clock=system.clock)
    assert (result.accepted, result.rejected, result.duplicates) == (2, 1, 0)
    assert "t.csv row 3 column 'date'" in result.rejected_reasons[0]
    with system.engine.connect() as conn:
        raw = conn.execute(text("SELECT raw FROM inbox WHERE status = 'rejected'")).scalar()
    kept = json.loads(raw)  # the row is kept raw, whole
    assert kept["file"] == "t.csv" and kept["rows"][0]["cells"]["date"] == "31/06/2026"


def test_events_validate_against_the_schemas(tmp_path: Path) -> None:
    write(tmp_path, "in/t.csv", TIME_HEADER + GOOD)
    events, _, _ = read_all(make(tmp_path, TIME_MAPPING))
    assert events and all(validate_event(e) == [] for e in events)
