"""Accounting periods in the database: open, close, lock, reopen (audited), and the check
every posting goes through.

A month without a stored row is *open*: a new firm posts without opening months first.
Changing a period writes its row in ``ledger_periods`` and one audit row in
``ledger_period_changes`` (who, in which role, why, from which status). The allowed changes
are the pure kernel's (``syncline.ledger.periods``): open → closed → locked, closed → open
(reopen). ``open`` records a month as open explicitly (it may not reopen a closed month).

Roles (the acting principal's, never typed by a caller): opening and closing need finance;
locking and reopening need controller and a reason (``ROLE_NEEDED``). A refusal raises
``PeriodChangeRefused`` with a message that says why. Every change is also appended to the
governance audit log (before/after status, who, why).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select, update

from syncline.adapters.db.ledger_tables import ledger_period_changes, ledger_periods
from syncline.ledger.periods import (
    Period,
    PeriodStatus,
    PeriodTransitionRefused,
    is_period_name,
    next_period,
    period_of,
    transition,
)
from syncline.services.clock import iso
from syncline.services.governance import audit
from syncline.services.ledger.held import held

FINANCE_ROLES: frozenset[str] = frozenset({"finance", "controller"})


class PeriodAction(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    LOCK = "lock"
    REOPEN = "reopen"


ROLE_NEEDED = {
    PeriodAction.OPEN: "finance",
    PeriodAction.CLOSE: "finance",
    PeriodAction.LOCK: "controller",
    PeriodAction.REOPEN: "controller",
}

_TARGET = {
    PeriodAction.OPEN: PeriodStatus.OPEN,
    PeriodAction.CLOSE: PeriodStatus.CLOSED,
    PeriodAction.LOCK: PeriodStatus.LOCKED,
    PeriodAction.REOPEN: PeriodStatus.OPEN,
}


class PeriodChangeRefused(ValueError):
    """A period change that may not happen (wrong status, role or missing reason)."""

    def __init__(self, message: str, *, problem: str) -> None:
        super().__init__(message)
        self.problem = problem  # "bad_period" | "forbidden" | "reason_required" | "transition"


@dataclass(frozen=True, slots=True)
class PeriodView:
    entity: str
    period: str
    status: str
    changed_at: str | None = None
    changed_by: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "period": self.period, "status": self.status,
                "changed_at": self.changed_at, "changed_by": self.changed_by,
                "reason": self.reason}


def list_periods(conn: Connection, entity: str | None = None) -> list[PeriodView]:
    """Stored periods (months whose status was ever set), by entity and month."""
    q = select(ledger_periods).order_by(ledger_periods.c.entity_code, ledger_periods.c.period)
    if entity:
        q = q.where(ledger_periods.c.entity_code == entity)
    return [PeriodView(r.entity_code, r.period, r.status, r.changed_at, r.changed_by, r.reason)
            for r in conn.execute(q)]


def period_history(conn: Connection, entity: str | None = None,
                   period: str | None = None) -> list[dict[str, Any]]:
    q = select(ledger_period_changes).order_by(ledger_period_changes.c.id)
    if entity:
        q = q.where(ledger_period_changes.c.entity_code == entity)
    if period:
        q = q.where(ledger_period_changes.c.period == period)
    return [dict(r._mapping) for r in conn.execute(q)]


def status_of(conn: Connection, entity: str, period: str) -> PeriodStatus:
    row = conn.execute(select(ledger_periods.c.status).where(
        (ledger_periods.c.entity_code == entity) & (ledger_periods.c.period == period))).first()
    return PeriodStatus(row.status) if row else PeriodStatus.OPEN


def statuses(conn: Connection) -> dict[tuple[str, str], PeriodStatus]:
    """Every stored period's status by (entity, month) — a month without one is open — read
    once for a close step (``held``: no status changes while its reports are built)."""
    return held(conn, "period_statuses", lambda: {
        (r.entity_code, r.period): PeriodStatus(r.status) for r in conn.execute(
            select(ledger_periods.c.entity_code, ledger_periods.c.period,
                   ledger_periods.c.status))})


def stored_periods(conn: Connection, entity: str | None = None) -> list[Period]:
    return [Period(v.entity, v.period, PeriodStatus(v.status))
            for v in list_periods(conn, entity)]


def periods_for_check(conn: Connection, entity: str, day: date) -> tuple[Period, ...]:
    """The periods ``check_posting`` needs for an entry of ``entity`` dated ``day``: the stored
    ones, plus the implicit open month of ``day`` and the first implicit open month after it
    (months without a row are open)."""
    stored = {p.period: p for p in stored_periods(conn, entity)}
    name = period_of(day)
    out = dict(stored)
    if name not in out:
        out[name] = Period(entity, name, PeriodStatus.OPEN)
    later = next_period(name)
    while later in stored and stored[later].status is not PeriodStatus.OPEN:
        later = next_period(later)
    if later not in out:
        out[later] = Period(entity, later, PeriodStatus.OPEN)
    return tuple(out[k] for k in sorted(out))


def change_period(
    conn: Connection,
    entity: str,
    period: str,
    action: PeriodAction | str,
    *,
    actor: str,
    role: str | Iterable[str],
    reason: str | None = None,
    now: datetime,
) -> PeriodView:
    """Open, close, lock or reopen ``period`` of ``entity``; audited. Raises
    ``PeriodChangeRefused`` (nothing written) when the change is not allowed."""
    try:
        act = PeriodAction(action)
    except ValueError:
        raise PeriodChangeRefused(
            f"unknown action {action!r}: expected one of "
            f"{', '.join(a.value for a in PeriodAction)}", problem="bad_action") from None
    if not is_period_name(period):
        raise PeriodChangeRefused(f"not a period {period!r}: expected YYYY-MM",
                                  problem="bad_period")
    if not entity.strip():
        raise PeriodChangeRefused("an entity code is required", problem="bad_entity")
    roles = {role} if isinstance(role, str) else set(role)
    needed = ROLE_NEEDED[act]
    if needed not in roles:
        raise PeriodChangeRefused(
            f"{act.value} of a period needs the {needed} role; {actor} has "
            f"{', '.join(sorted(r for r in roles if r)) or 'none'}", problem="forbidden")
    if act in (PeriodAction.REOPEN, PeriodAction.LOCK) and not (reason and reason.strip()):
        raise PeriodChangeRefused(f"{'reopening' if act is PeriodAction.REOPEN else 'locking'}"
                                  " a period needs a reason (it is audited)",
                                  problem="reason_required")
    role = needed
    current = status_of(conn, entity, period)
    wanted = _TARGET[act]
    if act is PeriodAction.OPEN:
        if current is not PeriodStatus.OPEN:
            raise PeriodChangeRefused(
                f"period {period} of {entity} is {current.value}; "
                + ("use reopen (controller role and reason)" if current is PeriodStatus.CLOSED
                   else "a locked period never reopens"), problem="transition")
    elif act is PeriodAction.REOPEN and current is PeriodStatus.OPEN:
        raise PeriodChangeRefused(f"period {period} of {entity} is already open",
                                  problem="transition")
    else:
        moved = transition(Period(entity, period, current), wanted)
        if isinstance(moved, PeriodTransitionRefused):
            raise PeriodChangeRefused(moved.message, problem="transition")
    stamp = iso(now)
    values = {"status": wanted.value, "changed_at": stamp, "changed_by": actor,
              "reason": reason}
    exists = conn.execute(select(ledger_periods.c.status).where(
        (ledger_periods.c.entity_code == entity) & (ledger_periods.c.period == period))).first()
    if exists:
        conn.execute(update(ledger_periods).where(
            (ledger_periods.c.entity_code == entity) & (ledger_periods.c.period == period))
            .values(**values))
    else:
        conn.execute(ledger_periods.insert().values(entity_code=entity, period=period,
                                                    **values))
    conn.execute(ledger_period_changes.insert().values(
        entity_code=entity, period=period, action=act.value, from_status=current.value,
        to_status=wanted.value, actor=actor, role=role, reason=reason, at=stamp))
    audit.append(conn, actor=actor, action=f"period.{act.value}",
                 subject=f"period/{entity}/{period}", now=now,
                 before={"status": current.value}, after={"status": wanted.value, "role": role},
                 reason=reason)
    return PeriodView(entity, period, wanted.value, stamp, actor, reason)


def change_periods(
    conn: Connection,
    entities: Iterable[str],
    period: str,
    action: PeriodAction | str,
    *,
    actor: str,
    role: str | Iterable[str],
    reason: str | None = None,
    now: datetime,
) -> list[PeriodView]:
    """The same change for several entities (all or nothing: the caller's transaction)."""
    return [change_period(conn, e, period, action, actor=actor, role=role, reason=reason,
                          now=now) for e in entities]
