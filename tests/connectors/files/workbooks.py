"""Small XLSX workbooks for the tests, written with openpyxl (the HR fixture is one of them:
``python -m tests.connectors.files.workbooks`` rewrites tests/fixtures/files/hr/)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]

HR_HEADER = ["Employee_ID", "First_Name", "Last_Name", "Work_Email", "Job_Profile", "Company",
             "Hourly_Cost_Rate", "Cost_Currency", "Worker_Status", "Hire_Date",
             "Effective_Date"]
HR_ROWS: list[list[Any]] = [
    [1001, "Ada", "Lovelace", "Ada.Lovelace@example.com", "Senior Consultant", "fr01", 85.5,
     "EUR", "Active", datetime(2021, 3, 1), datetime(2026, 6, 1)],
    [1002, "Alan", "Turing", "alan.turing@example.com", "Consultant", "FR01", 62, None,
     "On Leave", datetime(2023, 9, 18), datetime(2026, 6, 1)],
    [1003, "Grace", "Hopper", None, "Manager", "UK01", 0.1, "GBP", "Active",
     datetime(2019, 1, 7), datetime(2026, 6, 1)],
    [1004, "Edsger", "Dijkstra", "e.dijkstra@example.com", "Architect", "NL01", 90, "EUR",
     "Active", datetime(2020, 5, 4), datetime(2026, 6, 1)],  # no such role in the map
    [1005, "Barbara", "Liskov", "b.liskov@example.com", "Partner", "US01", 120, "USD",
     "Active", datetime(2018, 2, 12), "next month"],  # not a date
]


def workbook(path: Path, header: list[Any], rows: list[list[Any]], *,
             sheet: str = "Workers", before: list[list[Any]] | None = None) -> Path:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for row in before or []:
        ws.append(row)
    ws.append(header)
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


if __name__ == "__main__":
    here = Path(__file__).resolve().parents[2] / "fixtures" / "files" / "hr"
    workbook(here / "workers-2026-06.xlsx", HR_HEADER, HR_ROWS)
