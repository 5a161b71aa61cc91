"""The transforms of the mapping language: each turns one cell value into the next.

A transform is a pure function ``(value) -> value`` built from its YAML declaration
(``spec.py`` compiles them once). A value it cannot transform raises ``CellError`` with a
reason that quotes the value; the mapping turns it into a refusal naming the file, the row and
the column. Numbers are ``Decimal`` made from text, never ``float``: a decimal cell is parsed
with the declared decimal and thousands separators, and an XLSX number (a binary double in
the file) arrives as the shortest text that reads back as the same double (``readers.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import jmespath

from syncline.connectors.sdk.events import parse_time, rfc3339

Transform = Callable[[Any], Any]

TRUE_WORDS = ("true", "yes", "y", "1", "x")
FALSE_WORDS = ("false", "no", "n", "0", "")


class CellError(ValueError):
    """A value a transform cannot turn into the declared form (the reason quotes it)."""


def shown(value: Any) -> str:
    """A value quoted for a reason, cut to 60 characters."""
    text = _text(value)
    return repr(text[:60] + ("…" if len(text) > 60 else ""))


def plain(value: Any) -> Any:
    """A value as canonical JSON: decimals as text, dates ISO 8601, never a float."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    shown = plain(value)
    return shown if isinstance(shown, str) else str(shown)


def _names(formats: tuple[str, ...]) -> str:
    return " or ".join("ISO 8601" if f == "iso" else repr(f) for f in formats)


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def text(value: Any) -> str:
    """Any value as text (a number as written, a date as ISO 8601)."""
    return _text(value)


def date_of(formats: tuple[str, ...]) -> Transform:
    """Text in one of ``formats`` (strptime codes; ``iso`` = YYYY-MM-DD) → ``YYYY-MM-DD``.
    An XLSX date cell is a date already and is taken as it is."""

    def parse(value: Any) -> str:
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        raw = _text(value).strip()
        for fmt in formats:
            try:
                if fmt == "iso":
                    return date.fromisoformat(raw).isoformat()
                return datetime.strptime(raw, fmt).date().isoformat()
            except ValueError:
                continue
        raise CellError(f"{shown(value)} is not a date in {_names(formats)}")

    return parse


def datetime_of(formats: tuple[str, ...], zone: str) -> Transform:
    """Text in one of ``formats`` (``iso`` = RFC 3339 / ISO 8601) → RFC 3339 UTC
    (``…Z``). A time without an offset is in ``zone`` (an IANA name, default UTC)."""
    tz = UTC if zone == "UTC" else ZoneInfo(zone)

    def parse(value: Any) -> str:
        moment = value if isinstance(value, datetime) else _read_moment(value, formats)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        return rfc3339(moment)

    return parse


def _read_moment(value: Any, formats: tuple[str, ...]) -> datetime:
    raw = _text(value).strip()
    for fmt in formats:
        try:
            return (datetime.fromisoformat(raw.replace("Z", "+00:00"))
                    if fmt == "iso" else datetime.strptime(raw, fmt))
        except ValueError:
            continue
    raise CellError(f"{shown(value)} is not a date-time in {_names(formats)}")


def decimal_of(point: str, thousands: str) -> Transform:
    """Text with ``point`` as the decimal separator and ``thousands`` as the grouping one
    (``decimal: {decimal: ",", thousands: "."}`` reads ``1.234,50`` as ``1234.50``) → a
    decimal string. A sign may lead; anything else (a currency sign, an exponent, NaN) is
    refused, and so are groups that are not of three digits (``12.5`` with ``thousands: "."``
    is refused rather than read as 125)."""
    grouped = rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+|" if thousands else ""
    pattern = re.compile(rf"[+-]?(?:{grouped}\d+)(?:{re.escape(point)}\d+)?")

    def parse(value: Any) -> str:
        if isinstance(value, Decimal | int) and not isinstance(value, bool):
            return format(Decimal(value), "f")
        raw = _text(value).strip()
        if not pattern.fullmatch(raw):
            raise CellError(f"{shown(value)} is not a decimal (decimal separator {point!r}"
                            + (f", thousands {thousands!r})" if thousands else ")"))
        plain = raw.replace(thousands, "") if thousands else raw
        return format(Decimal(plain.replace(point, ".").lstrip("+")), "f")

    return parse


def integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raw = _text(value).strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", raw):
        raise CellError(f"{shown(value)} is not a whole number")
    return int(raw)


def boolean_of(true: tuple[str, ...], false: tuple[str, ...]) -> Transform:
    """``true``/``false`` words (compared case-insensitively, after stripping) → a boolean."""

    def parse(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        word = _text(value).strip().lower()
        if word in true:
            return True
        if word in false:
            return False
        raise CellError(f"{shown(value)} is neither true ({', '.join(true)}) nor false "
                        f"({', '.join(repr(w) for w in false)})")

    return parse


KEEP = object()


def map_of(table: dict[str, Any], otherwise: Any) -> Transform:
    """Replace a value by the table's (keys compared as text); a value not in the table is
    refused, unless ``else`` gives a value (or ``keep``: pass it through)."""

    def look(value: Any) -> Any:
        key = _text(value)
        if key in table:
            return table[key]
        if otherwise is KEEP:
            return value
        if otherwise is not None:
            return otherwise
        raise CellError(f"{shown(value)} is not one of {', '.join(repr(k) for k in table)}")

    return look


def scale(factor: Decimal, places: int | None, verb: str) -> Transform:
    """Multiply a decimal by ``factor`` (``divide: 60`` multiplies by 1/60 exactly): the
    result rounded half up to ``places`` when given, else it must be exact."""

    def apply(value: Any) -> str:
        try:
            number = Decimal(_text(value).strip())
            if not number.is_finite():
                raise InvalidOperation
            result = number / factor if verb == "divide" else number * factor
            exact = result.quantize(Decimal(1).scaleb(-(places or 12)), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise CellError(f"{shown(value)} is not a decimal to {verb}") from None
        if places is not None:
            return format(exact, "f")
        if result != exact:
            raise CellError(f"{shown(value)} {verb}d by {factor} is not exact: give `places`")
        return format(result.normalize(), "f")

    return apply


def parse_json(value: Any) -> Any:
    """A cell holding a JSON document → that document (numbers as ``Decimal``)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value, parse_float=Decimal)
    except (ValueError, RecursionError) as bad:
        raise CellError(f"{shown(value)} is not JSON: {bad}"[:200]) from None


def jmespath_of(expression: str) -> Transform:
    compiled = jmespath.compile(expression)

    def search(value: Any) -> Any:
        return compiled.search(value)

    return search


def iso_time(value: Any) -> datetime:
    """An event time (the envelope's): a datetime, a date (midnight UTC) or RFC 3339 text."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return parse_time(_text(value))
    except ValueError:
        raise CellError(f"{shown(value)} is not a date-time") from None
