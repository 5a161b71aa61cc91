"""What every entry point checks of a period and an entity before it reports, exports,
changes or closes a month (issue 11): the period is a real month of a sane range, the
entity exists, and a close is not of a month that has not begun.

- A period is ``YYYY-MM`` from ``1900-01`` to ``2999-12`` (``syncline.ledger.periods.
  is_period_name``): "0000-01" or "9999-12" are refused, not computed with.
- An entity is one of the reference data's legal entities, or one that has entries.
- A close may not be of a month more than ``SYNCLINE_CLOSE_MONTHS_AHEAD`` months after the
  current one (default 0: the current month at the latest). Closing an empty future month
  would bill everything up to its end, dated in the future.

Each check returns the problem as a sentence, or None; the entry point answers 422 (HTTP)
or exits 2 (CLI) with it.
"""

from __future__ import annotations

import os
from datetime import date

from sqlalchemy import Connection

from syncline.domain.reference import ReferenceData
from syncline.ledger.periods import FIRST_PERIOD, LAST_PERIOD, is_period_name, period_of

DEFAULT_CLOSE_MONTHS_AHEAD = 0


def close_months_ahead() -> int:
    value = os.environ.get("SYNCLINE_CLOSE_MONTHS_AHEAD", "")
    return int(value) if value.isdigit() else DEFAULT_CLOSE_MONTHS_AHEAD


def period_problem(period: str) -> str | None:
    if is_period_name(period):
        return None
    return f"period must be YYYY-MM from {FIRST_PERIOD} to {LAST_PERIOD}, got {period!r}"


def entity_problem(conn: Connection, ref: ReferenceData, entity: str | None) -> str | None:
    """None when ``entity`` is None (every entity) or known."""
    if entity is None:
        return None
    from syncline.services.ledger.queries import entity_codes

    known = entity_codes(conn, ref)
    if entity in known:
        return None
    return f"unknown entity {entity!r}; entities: {', '.join(known)}"


def _months(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def close_problem(period: str, today: date, months_ahead: int | None = None) -> str | None:
    """The period's own problem, or a close too far ahead of ``today``."""
    problem = period_problem(period)
    if problem:
        return problem
    ahead = close_months_ahead() if months_ahead is None else months_ahead
    current = period_of(today)
    if _months(period) - _months(current) > ahead:
        limit = "the current month" if ahead == 0 else f"{ahead} month(s) after the current one"
        return (f"{period} has not begun (today is {today.isoformat()}): a close may be of "
                f"{limit} at the latest (SYNCLINE_CLOSE_MONTHS_AHEAD)")
    return None
