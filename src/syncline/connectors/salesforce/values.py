"""Reading Salesforce field values as Syncline writes them (pure).

REST answers numbers as JSON numbers; the client parses them as ``Decimal`` (never float), and
``decimal_text`` writes them with at least two places and never rounds (``12000.0`` →
``"12000.00"``, ``0.125`` stays). Dates are ``YYYY-MM-DD``; datetimes ``…T…+0000`` become
RFC 3339 UTC. ``Account.Name`` walks a parent relationship in a SOQL row.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from syncline.connectors.sdk.events import parse_time, rfc3339

_CENTS = Decimal("0.01")


class BadValue(ValueError):
    pass


def get(record: dict[str, Any] | None, path: str | None) -> Any:
    """The value at ``path`` (``Name`` or ``Account.Name``); None when empty or unset."""
    if record is None or path is None:
        return None
    head, _, rest = path.partition(".")
    value = record.get(head)
    if rest:
        return get(value, rest) if isinstance(value, dict) else None
    return None if value == "" else value


def decimal_text(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadValue(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise BadValue(f"{value!r} is not a number")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    return str(number.quantize(_CENTS) if exponent >= -2 else number)


def whole(value: Any) -> int:
    number = Decimal(str(value))
    if number != number.to_integral_value():
        raise BadValue(f"{value!r} is not a whole number")
    return int(number)


def day(value: Any) -> str:
    text = str(value)
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise BadValue(f"{value!r} is not a date (YYYY-MM-DD)")
    return text


def moment(value: Any) -> str:
    try:
        return rfc3339(parse_time(str(value)))
    except ValueError:
        raise BadValue(f"{value!r} is not a datetime") from None


def json_text(value: Any) -> Any:
    """A Long Text Area holding JSON (rates, milestones, billing terms)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise BadValue(f"not valid JSON ({err.msg} at {err.pos})") from None


def choice(value: Any, allowed: tuple[str, ...], labels: dict[str, str]) -> str:
    """A picklist value: a configured label, or already one of ``allowed``."""
    text = str(value)
    mapped = labels.get(text, text)
    if mapped not in allowed:
        raise BadValue(f"{text!r} is not one of {', '.join(allowed)} (map org labels under "
                       "settings.values)")
    return mapped


def label_of(canonical: str, labels: dict[str, str]) -> str:
    """The inverse of ``choice``: the first configured label naming ``canonical``."""
    return next((label for label, value in labels.items() if value == canonical), canonical)
