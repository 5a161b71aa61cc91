"""A ``Report`` as JSON, CSV or an XLSX workbook."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from syncline.services.ledger.reports.common import Report, plain


def report_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2)


def report_csv(report: Report) -> str:
    """One table: plain CSV. Several: each after a row holding its title, a blank row
    between them."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    many = len(report.tables) > 1
    for i, table in enumerate(report.tables):
        if many:
            if i:
                writer.writerow([])
            writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows([plain(c) for c in row] for row in table.rows)
    return buf.getvalue()


def report_xlsx(report: Report, path: str | Path) -> None:
    """One worksheet per table; amounts as numbers, a notes sheet when there are notes."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    first = True
    for i, table in enumerate(report.tables):
        sheet = book.active if first else book.create_sheet()
        first = False
        assert sheet is not None
        sheet.title = _sheet_name(table.title, i)
        sheet.append(list(table.columns))
        for row in table.rows:
            sheet.append(list(row))
    if report.notes:
        notes = book.create_sheet("Notes")
        for note in report.notes:
            notes.append([note])
    book.save(str(path))


def _sheet_name(title: str, index: int) -> str:
    cleaned = "".join(ch for ch in title if ch not in "[]:*?/\\")
    return (cleaned[:28] or "Sheet") + (f" {index + 1}" if index else "")
