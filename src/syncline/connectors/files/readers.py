"""Streaming readers: a file → ``Record``s, one at a time (constant memory but for JSON
documents, which are read whole: use JSON lines for large exports).

- CSV with the ``csv`` module: the declared encoding (default ``utf-8-sig``, which drops a
  byte-order mark) and delimiter; bytes that are not text in that encoding are kept (as
  surrogate escapes) so only the rows holding them are refused, naming the column.
- XLSX with openpyxl in read-only mode: dates arrive as dates, numbers (doubles in the file)
  as the shortest decimal text that reads back as the same double, never as ``float``.
- JSON (an array, or the list a ``records`` JMESPath finds) and JSON lines; numbers as
  ``Decimal``.

Rows are numbered as a spreadsheet shows them (the header is row 1); JSON-lines records by
line, JSON array items from 1. A row with more cells than the header, or that the parser
cannot read, is yielded with a ``problem`` (the stream refuses it and goes on).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import jmespath

from syncline.connectors.files.mapping import AMBIGUOUS, Record

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
           ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class Unreadable(Exception):
    """The file as a whole cannot be read (not a workbook, no such sheet, not JSON)."""


@dataclass(frozen=True)
class ReadOptions:
    format: str
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    quotechar: str = '"'
    header_row: int = 1
    sheet: str | None = None
    records: str | None = None  # JSON: a JMESPath to the list of records


def read(path: Path, name: str, options: ReadOptions) -> Iterator[Record]:
    readers = {"csv": _csv, "xlsx": _xlsx, "json": _json, "jsonl": _jsonl}
    yield from readers[options.format](path, name, options)


def _row(name: str, number: int, header: tuple[str, ...], twice: set[str],
         cells: list[Any]) -> Record:
    values = {h: (AMBIGUOUS if h in twice else c) for h, c in zip(header, cells, strict=False)}
    extra = [c for c in cells[len(header):] if c not in (None, "")]
    problem = (f"the row has {len(cells)} cells, the header {len(header)} (a delimiter or "
               "quote inside a value?)") if extra else None
    return Record(name, number, values, header, problem)


def _header(cells: list[Any]) -> tuple[tuple[str, ...], set[str]]:
    header = tuple("" if c is None else str(c).strip() for c in cells)
    twice = {h for h in header if header.count(h) > 1}
    return header, twice


def _csv(path: Path, name: str, o: ReadOptions) -> Iterator[Record]:
    with path.open(encoding=o.encoding, errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, delimiter=o.delimiter, quotechar=o.quotechar, strict=False)
        header: tuple[str, ...] | None = None
        twice: set[str] = set()
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as bad:
                number += 1
                yield Record(name, number, {}, header or (), f"cannot be read as CSV: {bad}")
                continue
            number += 1
            if number < o.header_row:
                continue
            if header is None:
                header, twice = _header(cells)
                continue
            if not any(c.strip() for c in cells):
                continue  # a blank line
            yield _row(name, number, header, twice, cells)


def _cell(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, datetime | date | str):
        return value
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")  # the shortest text of the double
    if isinstance(value, int):
        return str(value)
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def _xlsx(path: Path, name: str, o: ReadOptions) -> Iterator[Record]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as bad:  # openpyxl raises zip, XML, key and value errors alike
        raise Unreadable(f"not an XLSX workbook: {type(bad).__name__}: {bad}"[:300]) from None
    try:
        if o.sheet is not None and o.sheet not in book.sheetnames:
            raise Unreadable(f"no sheet {o.sheet!r}; sheets: {', '.join(book.sheetnames)}")
        sheet = book[o.sheet] if o.sheet is not None else book.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # some writers store a wrong dimension
        header: tuple[str, ...] | None = None
        twice: set[str] = set()
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell(c) for c in row]
            if number < o.header_row:
                continue
            if header is None:
                header, twice = _header(cells)
                continue
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            cells += [None] * (len(header) - len(cells))  # Excel does not store empty cells
            yield _row(name, number, header, twice, cells)
    finally:
        book.close()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json(path: Path, name: str, o: ReadOptions) -> Iterator[Record]:
    try:
        with path.open(encoding=o.encoding) as f:
            document = json.load(f, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as bad:
        raise Unreadable(f"not JSON: {bad}"[:300]) from None
    found = jmespath.search(o.records, document) if o.records else document
    if not isinstance(found, list):
        raise Unreadable(f"no list of records at {o.records or 'the top level'} "
                         "(set `records` to a JMESPath that finds it)")
    for number, item in enumerate(found, start=1):
        yield Record(name, number, item)


def _jsonl(path: Path, name: str, o: ReadOptions) -> Iterator[Record]:
    with path.open(encoding=o.encoding, errors="surrogateescape") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line, parse_float=Decimal, parse_constant=_no_constant)
            except (ValueError, RecursionError) as bad:
                yield Record(name, number, line.rstrip("\n")[:2000],
                             problem=f"not a JSON value: {bad}"[:300])
                continue
            yield Record(name, number, item)
