"""Monthly reporting periods as day ordinals, precomputed once per schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # "2024-06"
    start: date
    end: date


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def month_end(index: int) -> date:
    return month_start(index + 1) - timedelta(days=1)


_PERIOD_CACHE: dict[tuple[int, int], tuple[tuple[Period, ...], tuple[int, ...]]] = {}


def calendar_between(first: date, last: date) -> tuple[tuple[Period, ...], tuple[int, ...]]:
    """The periods from the month of ``first`` through the month of ``last`` and the last day
    (ordinal) of each: built once per calendar and shared by every schedule that uses it."""
    key = (month_index(first), month_index(last))
    cached = _PERIOD_CACHE.get(key)
    if cached is None:
        periods = tuple(
            Period(f"{month_start(i).year:04d}-{month_start(i).month:02d}", month_start(i),
                   month_end(i))
            for i in range(key[0], key[1] + 1)
        )
        cached = (periods, tuple(p.end.toordinal() for p in periods))
        if len(_PERIOD_CACHE) < 4096:
            _PERIOD_CACHE[key] = cached
    return cached


def periods_between(first: date, last: date) -> tuple[Period, ...]:
    """Calendar months from the month of ``first`` through the month of ``last``."""
    return calendar_between(first, last)[0]


def months_ceil(start: date, end: date) -> int:
    """Whole months from ``start`` to the day after ``end``, a part month counting as one."""
    after = end + timedelta(days=1)
    months = month_index(after) - month_index(start)
    if after.day > start.day:
        months += 1
    return max(months, 1)
