"""Accounting periods per legal entity: open, closed or locked, and what may post into them.

- ``open``: entries post.
- ``closed``: nothing posts; finance may reopen it (``reopen``).
- ``locked``: nothing posts, ever; it cannot be reopened.

Transitions: open → closed (``close``), closed → open (``reopen``), closed → locked
(``lock``). Anything else is a ``PeriodTransitionRefused`` value.

An entry dated in a closed or locked period (or in a month with no period at all) is refused
with a ``PostingRefused`` that the caller turns into a finance exception — unless the policy
is ``next_open``: then the entry is re-dated to the first day of the next open period of its
entity and carries a reference to where it came from (metadata ``moved_from_period``,
``original_posting_date``, and its description says so). Moving never skips backwards and
never lands in a closed or locked period.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from syncline.ledger.journal import JournalEntry

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# A period name an entry point accepts: a month from FIRST_PERIOD to LAST_PERIOD ("0000-01"
# or "9999-12" are no months anyone books; the day after 9999-12 is no date at all).
FIRST_PERIOD, LAST_PERIOD = "1900-01", "2999-12"
_PERIOD_NAME = re.compile(r"^(19\d{2}|2\d{3})-(0[1-9]|1[0-2])$")


class PeriodStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    LOCKED = "locked"


class ClosedPeriodPolicy(StrEnum):
    REFUSE = "refuse"
    NEXT_OPEN = "next_open"


def period_of(day: date) -> str:
    """``'YYYY-MM'`` of a date."""
    return f"{day.year:04d}-{day.month:02d}"


def is_period_name(text: str) -> bool:
    """``YYYY-MM`` from ``FIRST_PERIOD`` to ``LAST_PERIOD`` (any string: never raises)."""
    return isinstance(text, str) and bool(_PERIOD_NAME.fullmatch(text))


def period_start(name: str) -> date:
    m = _PERIOD.match(name)
    if not m:
        raise ValueError(f"not a period {name!r}: expected YYYY-MM")
    return date(int(m.group(1)), int(m.group(2)), 1)


def period_end(name: str) -> date:
    """The last day of the period."""
    start = period_start(name)
    return date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])


def next_period(name: str) -> str:
    start = period_start(name)
    if start.month == 12:
        return f"{start.year + 1:04d}-01"
    return f"{start.year:04d}-{start.month + 1:02d}"


@dataclass(frozen=True, slots=True)
class Period:
    entity_id: str
    period: str  # "YYYY-MM"
    status: PeriodStatus = PeriodStatus.OPEN

    def __post_init__(self) -> None:
        if not is_period_name(self.period):
            raise ValueError(f"not a period {self.period!r}: expected YYYY-MM")

    @property
    def start(self) -> date:
        return period_start(self.period)

    def contains(self, day: date) -> bool:
        return period_of(day) == self.period


@dataclass(frozen=True, slots=True)
class PostingRefused:
    """An entry that may not post: becomes a finance exception (domain ``finance``)."""

    entry: JournalEntry
    reason: str  # "period_closed" | "period_locked" | "no_period" | "no_open_period"
    period: str
    message: str
    domain: str = "finance"
    remediation: str = ""


@dataclass(frozen=True, slots=True)
class PeriodTransitionRefused:
    period: Period
    wanted: PeriodStatus
    message: str


def _find(periods: Iterable[Period], entity_id: str, name: str) -> Period | None:
    return next((p for p in periods if p.entity_id == entity_id and p.period == name), None)


def check_posting(
    entry: JournalEntry,
    periods: Iterable[Period],
    policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE,
) -> JournalEntry | PostingRefused:
    """``entry`` if its period is open; moved to the next open period by policy; else refused."""
    periods = tuple(periods)
    name = period_of(entry.posting_date)
    target = _find(periods, entry.entity_id, name)
    if target is None:
        return PostingRefused(
            entry, "no_period", name,
            f"entity {entry.entity_id} has no period {name}; entry {entry.source_id} not posted",
            remediation=f"open period {name} for {entry.entity_id}, then replay the posting")
    if target.status is PeriodStatus.OPEN:
        return entry
    reason = "period_locked" if target.status is PeriodStatus.LOCKED else "period_closed"
    if policy is ClosedPeriodPolicy.NEXT_OPEN:
        later = sorted(
            (p for p in periods if p.entity_id == entry.entity_id and p.period > name
             and p.status is PeriodStatus.OPEN),
            key=lambda p: p.period,
        )
        if not later:
            return PostingRefused(
                entry, "no_open_period", name,
                f"period {name} of {entry.entity_id} is {target.status.value} and no later "
                f"period is open; entry {entry.source_id} not posted",
                remediation="open the next period, then replay the posting")
        return move_to(entry, later[0])
    hint = ("reopen the period or post a correction into an open period"
            if target.status is PeriodStatus.CLOSED
            else "post a correction into an open period (a locked period never reopens)")
    return PostingRefused(
        entry, reason, name,
        f"period {name} of {entry.entity_id} is {target.status.value}; entry "
        f"{entry.source_id} dated {entry.posting_date.isoformat()} not posted",
        remediation=hint)


def move_to(entry: JournalEntry, period: Period) -> JournalEntry:
    """``entry`` re-dated to the first day of ``period``, with a reference to its origin."""
    origin = period_of(entry.posting_date)
    return replace(
        entry,
        posting_date=period.start,
        description=f"{entry.description} (moved from closed period {origin})",
        metadata=(*entry.metadata, ("moved_from_period", origin),
                  ("original_posting_date", entry.posting_date.isoformat())),
    )


# --- transitions ---------------------------------------------------------------------------

_ALLOWED = {
    (PeriodStatus.OPEN, PeriodStatus.CLOSED),
    (PeriodStatus.CLOSED, PeriodStatus.OPEN),
    (PeriodStatus.CLOSED, PeriodStatus.LOCKED),
}


def transition(period: Period, wanted: PeriodStatus) -> Period | PeriodTransitionRefused:
    if (period.status, wanted) not in _ALLOWED:
        return PeriodTransitionRefused(
            period, wanted,
            f"period {period.period} of {period.entity_id} is {period.status.value}; "
            f"it cannot become {wanted.value}")
    return replace(period, status=wanted)


def close(period: Period) -> Period | PeriodTransitionRefused:
    return transition(period, PeriodStatus.CLOSED)


def reopen(period: Period) -> Period | PeriodTransitionRefused:
    return transition(period, PeriodStatus.OPEN)


def lock(period: Period) -> Period | PeriodTransitionRefused:
    return transition(period, PeriodStatus.LOCKED)
