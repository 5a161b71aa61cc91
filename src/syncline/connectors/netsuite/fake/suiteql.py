"""The SuiteQL the fake answers: a small, strict subset, so a query the connector does not
send (or sends wrongly) is a 400 rather than a silent answer.

- ``SELECT a, b FROM <table> [WHERE <c> AND <c> …]`` where a condition is ``col = 'text'``
  or ``col IN (1, 2)``; tables are the fake's reference tables, ``customer`` and
  ``transaction`` (``type``: ``CustInvc``, ``CustCred``, ``Journal``, ``CustPymt``);
- the payments read of ``streams.payments_query`` (recognized by its ``FROM
  previoustransactionlinelink``; its one parameter is the ``TO_TIMESTAMP`` literal).

Rows are dicts with lower-case keys; like NetSuite, checkbox values are ``'T'``/``'F'``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Row = dict[str, Any]
_SELECT = re.compile(r"^SELECT (?P<cols>[a-z0-9_, ]+) FROM (?P<table>[a-z_]+)"
                     r"(?: WHERE (?P<where>.+))?$", re.IGNORECASE | re.DOTALL)
_EQ = re.compile(r"^([a-z_]+) = '((?:[^']|'')*)'$", re.IGNORECASE)
_IN = re.compile(r"^([a-z_]+) IN \(([0-9, -]+)\)$", re.IGNORECASE)
_SINCE = re.compile(r"pay\.lastmodifieddate >= TO_TIMESTAMP\('([0-9: -]+)', "
                    r"'YYYY-MM-DD HH24:MI:SS'\)")
PAYMENTS_FROM = "FROM previoustransactionlinelink link"


class BadQuery(ValueError):
    pass


def _equals(col: str, value: str) -> Callable[[Row], bool]:
    return lambda r: str(r.get(col, "")) == value


def _within(col: str, values: set[str]) -> Callable[[Row], bool]:
    return lambda r: str(r.get(col, "")) in values


def _conditions(where: str | None) -> list[Callable[[Row], bool]]:
    if not where:
        return []
    tests: list[Callable[[Row], bool]] = []
    for part in re.split(r" AND ", where.strip(), flags=re.IGNORECASE):
        part = part.strip()
        if (eq := _EQ.match(part)):
            tests.append(_equals(eq.group(1).lower(), eq.group(2).replace("''", "'")))
        elif (within := _IN.match(part)):
            values = {v.strip() for v in within.group(2).split(",") if v.strip()}
            tests.append(_within(within.group(1).lower(), values))
        else:
            raise BadQuery(f"the fake does not understand the condition {part!r}")
    return tests


def run(query: str, tables: Mapping[str, Mapping[str, Row]],
        payments: Callable[[str], list[Row]]) -> list[Row]:
    q = " ".join(query.split())
    if PAYMENTS_FROM in q:
        since = _SINCE.search(q)
        if since is None or "ORDER BY pay.lastmodifieddate, pay.id, inv.id" not in q:
            raise BadQuery("the payments read needs its TO_TIMESTAMP bound and a unique order")
        return payments(since.group(1))
    match = _SELECT.match(q)
    if match is None:
        raise BadQuery(f"Invalid search query: {q[:120]}")
    table = match.group("table").lower()
    if table not in tables:
        raise BadQuery(f"Record '{table}' was not found.")
    cols = [c.strip().lower() for c in match.group("cols").split(",")]
    tests = _conditions(match.group("where"))
    rows = [r for _, r in sorted(tables[table].items(), key=lambda kv: int(kv[0]))
            if all(t(r) for t in tests)]
    return [{c: r.get(c) for c in cols} for r in rows]
