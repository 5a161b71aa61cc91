"""The KPI formulas, pure: no database, no clock. ``queries.py`` reads the facts and hands
them here; every rule a KPI states is applied in this module.

Durations are Decimal days (two decimals, half up); rates and shares are Decimal fractions
(four decimals, half up); money stays Decimal. A statistic over nothing is ``None`` (shown
``n/a``), never zero: "no project set up this month" is not "set up in zero days".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

DAY = Decimal(86400)
AGE_BUCKETS = ("0-1", "2-7", "8-30", "31+")
TWO = Decimal("0.01")
FOUR = Decimal("0.0001")


def days_between(start: datetime, end: datetime) -> Decimal:
    """Elapsed days from ``start`` to ``end`` (fractional, two decimals)."""
    seconds = Decimal(str((end - start).total_seconds()))
    return (seconds / DAY).quantize(TWO, ROUND_HALF_UP)


def calendar_days(start: date, end: date) -> int:
    """Whole calendar days from ``start`` to ``end`` (an invoice dated the day the time was
    approved has a latency of 0)."""
    return (end - start).days


def median(values: Iterable[Decimal]) -> Decimal | None:
    """The middle value; the mean of the two middle values for an even count."""
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return ((ordered[mid - 1] + ordered[mid]) / 2).quantize(TWO, ROUND_HALF_UP)


def percentile(values: Iterable[Decimal], pct: int) -> Decimal | None:
    """Nearest-rank percentile: the smallest value with at least ``pct``% of the values at or
    below it (p90 of 1..10 is 9; of a single value, that value)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = -(-pct * len(ordered) // 100)  # ceil
    return ordered[max(rank, 1) - 1]


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator ÷ denominator to four decimals; ``None`` over zero."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(FOUR, ROUND_HALF_UP)


def age_bucket(days: int) -> str:
    """0-1, 2-7, 8-30 or 31+ days old."""
    if days <= 1:
        return AGE_BUCKETS[0]
    if days <= 7:
        return AGE_BUCKETS[1]
    return AGE_BUCKETS[2] if days <= 30 else AGE_BUCKETS[3]


def duration_stats(samples: Mapping[str, list[Decimal]]) -> list[dict[str, object]]:
    """Per entity: how many samples, their median, p90 and maximum."""
    return [{"entity": e, "count": len(v), "median_days": median(v),
             "p90_days": percentile(v, 90), "max_days": max(v) if v else None}
            for e, v in sorted(samples.items())]


def sums_by(rows: Iterable[tuple[str, str, Decimal]]) -> list[dict[str, object]]:
    """(entity, currency, amount) rows summed per entity and currency, with their count."""
    total: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    count: dict[tuple[str, str], int] = defaultdict(int)
    for entity, currency, amount in rows:
        total[(entity, currency)] += amount
        count[(entity, currency)] += 1
    return [{"entity": e, "currency": c, "count": count[(e, c)], "amount": total[(e, c)]}
            for e, c in sorted(total)]


def exception_rate(exceptions: Mapping[str, int], invoices: Mapping[str, int]
                   ) -> list[dict[str, object]]:
    """Per entity: billing exceptions raised ÷ invoices issued in the month."""
    return [{"entity": e, "exceptions": exceptions.get(e, 0), "invoices": invoices.get(e, 0),
             "rate": ratio(exceptions.get(e, 0), invoices.get(e, 0))}
            for e in sorted(set(exceptions) | set(invoices))]


def aging(ages: Iterable[tuple[str, str, int]]) -> list[dict[str, object]]:
    """(entity, domain, age in days) of open exceptions → counts per bucket."""
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for entity, domain, days in ages:
        row = cells.setdefault((entity, domain), dict.fromkeys(AGE_BUCKETS, 0))
        row[age_bucket(days)] += 1
    return [{"entity": e, "domain": d, **b, "total": sum(b.values())}
            for (e, d), b in sorted(cells.items())]


def straight_through(messages: int, untouched: int) -> dict[str, object]:
    """Messages applied with no manual step ÷ messages processed."""
    return {"entity": "*", "messages": messages, "straight_through": untouched,
            "share": ratio(untouched, messages)}


def waiting(rows: Iterable[tuple[str, str]]) -> list[dict[str, object]]:
    """(entity, why) → per entity: undelivered, not applied, total."""
    cells: dict[str, dict[str, int]] = {}
    for entity, why in rows:
        row = cells.setdefault(entity, {"undelivered": 0, "not_applied": 0})
        row[why] += 1
    return [{"entity": e, **c, "total": sum(c.values())} for e, c in sorted(cells.items())]


def percent(fraction: Decimal | None) -> Decimal | None:
    """A fraction as a percentage, two decimals (0.8889 → 88.89); ``None`` stays ``None``."""
    return None if fraction is None else (fraction * 100).quantize(TWO, ROUND_HALF_UP)


def pivot(months: Sequence[str], cells: Iterable[tuple[str, str, Decimal | None]],
          zero: bool = False) -> list[tuple[str, list[Decimal | None]]]:
    """(month, label, value) cells → per label (sorted) its value in each month, in the order
    of ``months``. Cells of one label and month are added (a ``None`` adds nothing; only
    ``None``s stay ``None``); a month with no cell is ``None`` — or 0 with ``zero``, for a
    total where "nothing" is zero (an amount, a count), unlike a statistic over nothing.
    Cells of months outside ``months`` are left out."""
    index = {m: i for i, m in enumerate(months)}
    rows: dict[str, list[Decimal | None]] = {}
    for month, label, value in cells:
        if month not in index:
            continue
        row = rows.setdefault(label, [None] * len(months))
        k = index[month]
        current = row[k]
        if value is not None:
            row[k] = value if current is None else current + value
    fill = Decimal(0) if zero else None
    return [(label, [fill if v is None else v for v in values])
            for label, values in sorted(rows.items())]
