"""The SOQL the connector sends: closed-won Opportunities with their Account (parent fields)
and OpportunityLineItems (a child subquery) in one query, and change orders with their lines.

Incremental on ``SystemModstamp >= <cursor>`` (datetime literals unquoted), ordered by
``SystemModstamp, Id`` so every page ends at the page's newest record; rows sharing the
cursor's second are read again and are duplicates by event id (connectors.md §1.2).
"""

from __future__ import annotations

import re
from datetime import datetime

from syncline.connectors.salesforce.settings import SalesforceSettings
from syncline.connectors.sdk.events import parse_time, rfc3339

OPPORTUNITY = ("Id", "Name", "AccountId", "StageName", "IsClosed", "IsWon", "CloseDate",
               "SystemModstamp")
LINE_ITEM = ("Id", "Name", "Description", "Quantity", "UnitPrice", "TotalPrice",
             "SortOrder")
_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def literal(cursor: str) -> str:
    """A stored cursor as a SOQL datetime literal (UTC, whole seconds, unquoted)."""
    text = cursor if _LITERAL.match(cursor) else cursor_of(parse_time(cursor))
    if not _LITERAL.match(text):
        raise ValueError(f"cursor {cursor!r} is not a datetime")
    return text


def cursor_of(moment: datetime) -> str:
    """The cursor stored after a page: its newest ``SystemModstamp``, floored to the second
    (re-read with ``>=``)."""
    return rfc3339(moment)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n, None)
    return list(seen)


def opportunities(s: SalesforceSettings, since: str | None, limit: int | None = None) -> str:
    deal = [f for f in s.fields.values() if f]
    lines = [f for f in s.line_fields.values() if f]
    select = _unique([*OPPORTUNITY, *deal])
    child = ", ".join(_unique([*LINE_ITEM, *lines]))
    where = ["IsWon = true"]
    if since:
        where.append(f"SystemModstamp >= {literal(since)}")
    text = (f"SELECT {', '.join(select)}, (SELECT {child} FROM OpportunityLineItems) "
            f"FROM Opportunity WHERE {' AND '.join(where)} ORDER BY SystemModstamp, Id")
    return text + (f" LIMIT {limit}" if limit else "")


def change_orders(s: SalesforceSettings, since: str | None) -> str:
    co = s.change_orders
    assert co is not None
    select = _unique(["Id", "SystemModstamp", *co.fields.values()])
    child = ", ".join(_unique(["Id", *co.line_fields.values()]))
    where = f" WHERE SystemModstamp >= {literal(since)}" if since else ""
    return (f"SELECT {', '.join(select)}, (SELECT {child} FROM {co.lines}) FROM {co.object}"
            f"{where} ORDER BY SystemModstamp, Id")
