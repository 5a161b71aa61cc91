"""Rows → canonical events (PURE: no I/O). One record, or one group of records, becomes one
envelope, or a ``RowError`` naming the file, the row and the column at fault.

A value is found by its rule's source (a column, columns concatenated, a template over
columns, a JMESPath ``path`` over the record, a constant), goes through the rule's transforms
in order, and lands at its canonical path (``customer.name``, ``lines[0].amount``). An empty
value (a missing cell, blank text, a path that finds nothing) takes the rule's ``default``,
is left out when the rule is ``optional``, or refuses the row. The event is then checked
against its schema, so a problem the schema finds is also named by row and column.

Event ids come from the content (``<type>/<record id>@sha256:…`` of the data): reading the
same row again, from the same file or another, is a duplicate; a changed row is a new version.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncline.connectors.files import transforms as t
from syncline.connectors.files.spec import MISSING, PLACEHOLDER, Mapping, Rule
from syncline.connectors.sdk.events import content_id, envelope, epoch_ms
from syncline.schemas import validate_event
from syncline.services.messaging.content import content_problems

OMIT: Any = object()
AMBIGUOUS: Any = object()  # the cell of a column the header names twice
STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")


@dataclass(frozen=True)
class Record:
    """One row (``values``: column → cell, ``header``: the file's columns) or one JSON value
    (``header`` None: columns are keys, template placeholders JMESPath expressions)."""

    file: str
    row: int  # the spreadsheet row (header = 1), the JSON-lines line, the JSON array item
    values: Any
    header: tuple[str, ...] | None = None
    problem: str | None = None  # what the reader found wrong with the row itself


@dataclass
class RowError(Exception):
    file: str
    row: int
    column: str
    reason: str
    target: str | None = None

    def __str__(self) -> str:
        field = f" (field {self.target})" if self.target else ""
        return f"{self.file} row {self.row} column {self.column!r}{field}: {self.reason}"


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def where_of(rule: Rule) -> str:
    if rule.columns:
        return ", ".join(rule.columns)
    if rule.source == "path":
        return f"path {rule.argument.expression}"
    return f"({rule.source})"


def _cell(record: Record, column: str, rule: Rule) -> Any:
    if record.header is None:
        return record.values.get(column) if isinstance(record.values, dict) else None
    if column not in record.values:
        why = (f"the row has {len(record.values)} cell(s), the header {len(record.header)}"
               if column in record.header else "not in the file's header")
        raise RowError(record.file, record.row, column, why, rule.target)
    value = record.values[column]
    if value is AMBIGUOUS:
        raise RowError(record.file, record.row, column, "is in the file's header twice",
                       rule.target)
    if isinstance(value, str) and _undecodable(value):
        raise RowError(record.file, record.row, column,
                       "holds bytes that are not text in the file's encoding", rule.target)
    return value


def _undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\x00" in text


def _placeholder(record: Record, name: str, rule: Rule) -> Any:
    if record.header is None:
        import jmespath

        return jmespath.search(name, record.values)
    return _cell(record, name, rule)


def raw_value(rule: Rule, record: Record) -> Any:
    if rule.source == "column":
        return _cell(record, rule.argument, rule)
    if rule.source == "concat":
        parts = [t.text(v).strip() for v in (_cell(record, c, rule) for c in rule.argument)
                 if not is_empty(v)]
        return rule.sep.join(parts)
    if rule.source == "template":
        return PLACEHOLDER.sub(
            lambda m: "" if is_empty(v := _placeholder(record, m.group(1), rule)) else t.text(v),
            rule.argument)
    if rule.source == "path":
        return rule.argument.search(record.values)
    return rule.argument  # constant


def value(rule: Rule, record: Record) -> Any:
    """The rule's value for ``record``: transformed, or the default, or ``OMIT``."""
    current = raw_value(rule, record)
    for name, step in rule.steps:
        if is_empty(current):
            break
        try:
            current = step(current)
        except t.CellError as bad:
            raise RowError(record.file, record.row, where_of(rule), f"{name}: {bad}",
                           rule.target) from None
    if is_empty(current):
        if rule.default is not MISSING:
            return rule.default
        if rule.optional:
            return OMIT
        raise RowError(record.file, record.row, where_of(rule), "is empty", rule.target)
    return t.plain(current)


def put(data: dict[str, Any], target: str, item: Any) -> None:
    """Set ``item`` at a dotted path (``customer.name``, ``lines[0].amount``)."""
    steps = [(m.group(1), m.group(2)) for m in STEP.finditer(target)]
    node: Any = data
    for i, (key, index) in enumerate(steps):
        last = i == len(steps) - 1
        if index is None:
            if last:
                node[key] = item
            else:
                node = node.setdefault(key, {})
            continue
        seq = node.setdefault(key, [])
        while len(seq) <= int(index):
            seq.append({})
        if last:
            seq[int(index)] = item
        else:
            node = seq[int(index)]


def fields(rules: Sequence[Rule], record: Record) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for rule in rules:
        found = value(rule, record)
        if found is not OMIT:
            put(data, rule.target, found)
    return data


def _lookup(data: dict[str, Any], target: str) -> Any:
    node: Any = data
    for key, index in ((m.group(1), m.group(2)) for m in STEP.finditer(target)):
        node = node.get(key) if isinstance(node, dict) else None
        if index is not None:
            node = node[int(index)] if isinstance(node, list) and len(node) > int(index) else None
    return node


def map_records(mapping: Mapping, records: Sequence[Record], *, source: str,
                file_time: datetime) -> dict[str, Any]:
    """One canonical envelope from one record (or a group's records), or ``RowError``."""
    for r in records:
        if r.problem:
            raise RowError(r.file, r.row, "(row)", r.problem)
    first = records[0]
    data = fields(mapping.fields, first)
    if mapping.group is not None:
        put(data, mapping.group.into, [fields(mapping.group.item, r) for r in records])
    record_id = None
    if mapping.record_id is not None:
        record_id = t.text(value(mapping.record_id, first))

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        found = record_id if name == "id" and record_id else _lookup(data, name)
        if is_empty(found) or isinstance(found, dict | list):
            raise RowError(first.file, first.row, "(subject)",
                           f"the subject needs field {name}, which is empty")
        return t.text(found)

    subject = PLACEHOLDER.sub(fill, mapping.subject)
    moment = file_time
    if mapping.time is not None:
        moment = _moment(mapping.time, first)
    sequence = epoch_ms(moment)
    if mapping.sequence is not None:
        found = value(mapping.sequence, first)
        sequence = found if isinstance(found, int) else epoch_ms(_moment(mapping.sequence, first))
    correlation = None
    if mapping.correlation is not None:
        found = value(mapping.correlation, first)
        correlation = None if found is OMIT else t.text(found)
    prefix = f"{mapping.etype}/{record_id or subject}"[:150]
    event = envelope(source=source, etype=mapping.etype,
                     event_id=content_id(prefix, {"type": mapping.etype, "data": data}),
                     subject=subject, time=moment, sequence=sequence, data=data,
                     correlation=correlation)
    problems = content_problems(data) or validate_event(event)
    if problems:
        raise _schema_error(mapping, records, problems[0], len(problems))
    return event


def _moment(rule: Rule, record: Record) -> datetime:
    found = value(rule, record)
    try:
        return t.iso_time(found)
    except t.CellError as bad:
        raise RowError(record.file, record.row, where_of(rule), str(bad), rule.target) from None


def _schema_error(mapping: Mapping, records: Sequence[Record], problem: Any,
                  count: int) -> RowError:
    """Name the row and column that fed the field the schema refused."""
    path = problem.path.removeprefix("data.")
    more = f" (and {count - 1} more problem(s))" if count > 1 else ""
    record, rules = records[0], mapping.fields
    g = mapping.group
    if g is not None and (m := re.match(rf"{re.escape(g.into)}\[(\d+)\]\.?(.*)$", path)):
        index = int(m.group(1))
        record = records[index] if index < len(records) else records[0]
        path, rules = m.group(2), g.item
    rule = next((r for r in rules if r.target == path), None)
    column = where_of(rule) if rule else "(event)"
    return RowError(record.file, record.row, column,
                    f"the event's {problem.path}: {problem.message} ({problem.rule}){more}",
                    rule.target if rule else None)
