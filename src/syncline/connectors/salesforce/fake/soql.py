"""The fake org's SOQL: just what the connector sends, strictly.

``SELECT f, Parent.f, (SELECT f FROM ChildRelationship) FROM Object [WHERE a op lit AND …]
[ORDER BY f, …] [LIMIT n]``. Datetime literals are unquoted and compared as instants, strings
single-quoted. A field the object does not have is ``INVALID_FIELD``, as in Salesforce; an
empty child relationship is ``null``; parent fields nest (``{"Account": {"Name": …}}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncline.connectors.sdk.events import parse_time

_SUB = re.compile(r"\(SELECT (?P<fields>[^()]+?) FROM (?P<rel>\w+)\)")
_TOP = re.compile(r"^SELECT (?P<fields>.+?) FROM (?P<obj>\w+)(?: WHERE (?P<where>.+?))?"
                  r"(?: ORDER BY (?P<order>.+?))?(?: LIMIT (?P<limit>\d+))?$")
_CLAUSE = re.compile(r"^(?P<field>[\w.]+) (?P<op>=|!=|>=|<=|>|<) (?P<lit>.+)$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}


class QueryError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Schema:
    """What the fake org knows: fields per object, parent lookups, child relationships."""

    fields: Callable[[str], set[str]]
    parents: dict[str, tuple[str, str]]  # relationship → (lookup field, object)
    children: dict[str, tuple[str, str]]  # relationship → (object, field naming the parent)
    rows: Callable[[str], list[dict[str, Any]]]
    url: Callable[[str, str], str]


def run(schema: Schema, text: str) -> list[dict[str, Any]]:
    subs: dict[str, tuple[list[str], str]] = {}

    def keep(m: re.Match[str]) -> str:
        key = f"__sub{len(subs)}"
        subs[key] = (_names(m["fields"]), m["rel"])
        return key

    top = _TOP.match(_SUB.sub(keep, " ".join(text.split())))
    if not top:
        raise QueryError("MALFORMED_QUERY", "unexpected token in the query")
    obj = top["obj"]
    selected = _names(top["fields"])
    for name in selected:
        if name not in subs:
            _check(schema, obj, name)
    rows = [r for r in schema.rows(obj) if _matches(schema, obj, r, top["where"])]
    for field in reversed(_names(top["order"] or "")):
        rows.sort(key=_sort_key(field))
    if top["limit"]:
        rows = rows[:int(top["limit"])]
    return [_project(schema, obj, r, selected, subs) for r in rows]


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    """Nulls first, as Salesforce sorts ascending by default."""
    def key(row: dict[str, Any]) -> tuple[bool, Any]:
        return row.get(field) is not None, _comparable(row.get(field))
    return key


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _check(schema: Schema, obj: str, name: str) -> None:
    if "." in name:
        rel, _, rest = name.partition(".")
        if rel not in schema.parents:
            raise QueryError("INVALID_FIELD", f"Didn't understand relationship '{rel}'")
        return _check(schema, schema.parents[rel][1], rest)
    if name not in schema.fields(obj):
        raise QueryError("INVALID_FIELD", f"No such column '{name}' on entity '{obj}'")
    return None


def _value(schema: Schema, record: dict[str, Any], name: str) -> Any:
    if "." not in name:
        return record.get(name)
    rel, _, rest = name.partition(".")
    lookup, obj = schema.parents[rel]
    parent = next((p for p in schema.rows(obj) if p["Id"] == record.get(lookup)), None)
    return None if parent is None else _value(schema, parent, rest)


def _literal(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("\\'", "'")
    if _DATETIME.match(text):
        return parse_time(text)
    raise QueryError("MALFORMED_QUERY", f"unexpected literal {text!r}")


def _comparable(value: Any) -> Any:
    if isinstance(value, str) and _DATETIME.match(value):
        return parse_time(value)
    return value


def _matches(schema: Schema, obj: str, record: dict[str, Any], where: str | None) -> bool:
    for clause in (where.split(" AND ") if where else []):
        m = _CLAUSE.match(clause.strip())
        if not m:
            raise QueryError("MALFORMED_QUERY", f"unexpected condition {clause!r}")
        _check(schema, obj, m["field"])
        value = _comparable(_value(schema, record, m["field"]))
        literal = _literal(m["lit"])
        if value is None or literal is None:
            if not (m["op"] == "=" and value is literal):
                return False
        elif not _OPS[m["op"]](value, literal):
            return False
    return True


def _project(schema: Schema, obj: str, record: dict[str, Any], selected: list[str],
             subs: dict[str, tuple[list[str], str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": {"type": obj, "url": schema.url(obj, record["Id"])}}
    for name in selected:
        if name in subs:
            fields, rel = subs[name]
            if rel not in schema.children:
                raise QueryError("INVALID_TYPE", f"Didn't understand relationship '{rel}'")
            child_obj, parent_field = schema.children[rel]
            rows = [r for r in schema.rows(child_obj) if r.get(parent_field) == record["Id"]]
            for f in fields:
                _check(schema, child_obj, f)
            children = [_project(schema, child_obj, r, fields, {}) for r in rows]
            out[rel] = ({"totalSize": len(children), "done": True, "records": children}
                        if children else None)
        elif "." in name:
            _nest(schema, out, record, name)
        else:
            out[name] = record.get(name)
    return out


def _nest(schema: Schema, out: dict[str, Any], record: dict[str, Any], name: str) -> None:
    rel, _, rest = name.partition(".")
    lookup, obj = schema.parents[rel]
    parent = next((p for p in schema.rows(obj) if p["Id"] == record.get(lookup)), None)
    if parent is None:
        out[rel] = None
        return
    node = out.get(rel) or {"attributes": {"type": obj, "url": schema.url(obj, parent["Id"])}}
    out[rel] = node
    if "." in rest:
        _nest(schema, node, parent, rest)
    else:
        node[rest] = parent.get(rest)
