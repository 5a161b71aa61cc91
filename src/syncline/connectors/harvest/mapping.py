"""Harvest time entries → canonical ``time.approved`` / ``time.rejected`` data (pure).

Harvest v2 has no ``approval_status`` on a time entry (connectors.md §4.2): an entry is
approved when the configured flag says so — ``is_closed`` ("approved via Timesheet
Approval", the default), ``is_locked``, or ``either`` — and it is not running.

Rules:
- ``time_entry_id`` = ``entry_prefix`` + the Harvest id; ``work_date`` = ``spent_date``;
- ``hours`` from ``hours`` (or ``rounded_hours``) through ``str`` into ``Decimal``, rounded
  half-up to 2 decimals (Harvest sends floats such as ``1.5``: never float arithmetic);
- the worker comes from ``people`` (Harvest user id → worker id and role, built from the
  configured rule by ``directory``): a user that maps to no worker is refused naming the entry
  and the user ("a worker unknown to HR"); so is a worker without a role;
- ``project_code`` is the Harvest project's ``code`` (from ``/v2/projects``): a project without
  one is refused; ``task_code`` is the task's name through ``task_codes`` (default: the name);
- ``approved_at`` is the entry's ``updated_at`` (Harvest does not say who approved, or when;
  no ``approved_by``);
- an approval seen before and now withdrawn (neither flag, or the entry deleted) is
  ``time.rejected`` with the reason; ``rejected_at`` is the entry's ``updated_at`` (or the
  moment the deletion was noticed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import parse_time, rfc3339

VENDOR = "harvest"
RECORD = "TimeEntry"
APPROVAL_FLAGS = ("is_closed", "is_locked", "either")
WORKER_RULES = ("email", "employee_id")
WITHDRAWN = "approval withdrawn in Harvest: the entry is no longer {flags}"
DELETED = "deleted in Harvest after it was approved"
_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Person:
    worker_id: str | None
    role: str | None
    label: str  # "user 1782959 (Kim Allen)" for reasons


@dataclass(frozen=True)
class TimeRules:
    approved_when: str = "is_closed"
    hours_field: str = "hours"
    entry_prefix: str = ""
    task_codes: Mapping[str, str] = field(default_factory=dict)


def is_approved(entry: Mapping[str, Any], rules: TimeRules) -> bool:
    if entry.get("is_running"):
        return False
    closed, locked = bool(entry.get("is_closed")), bool(entry.get("is_locked"))
    return {"is_closed": closed, "is_locked": locked, "either": closed or locked}[
        rules.approved_when]


def entry_id(entry: Mapping[str, Any], rules: TimeRules) -> str:
    return f"{rules.entry_prefix}{entry.get('id')}"


def directory(users: Sequence[Mapping[str, Any]], *, rule: str, hr: Mapping[str, Person],
              user_workers: Mapping[str, str], user_roles: Mapping[str, str]
              ) -> dict[str, Person]:
    """Harvest user id → the Syncline worker: ``user_workers`` (configured) first, else the
    rule — ``employee_id`` (the HR id kept on the Harvest user) or ``email`` (the HR worker
    with that work email); ``hr`` is HR's people by worker id and by lower-cased email. The
    role: ``user_roles`` (configured per Harvest user) first, else the HR worker's role."""
    out: dict[str, Person] = {}
    for user in users:
        uid = str(user.get("id"))
        name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
        label = f"user {uid} ({name})" if name else f"user {uid}"
        wid = user_workers.get(uid)
        if wid is None and rule == "employee_id" and user.get("employee_id"):
            wid = str(user["employee_id"]).strip()
        elif wid is None and rule == "email" and user.get("email"):
            found = hr.get("email:" + str(user["email"]).strip().lower())
            wid = found.worker_id if found else None
        known = hr.get(wid) if wid else None
        out[uid] = Person(wid, user_roles.get(uid) or (known.role if known else None), label)
    return out


def map_approved(entry: Mapping[str, Any], rules: TimeRules, *, people: Mapping[str, Person],
                 projects: Mapping[str, str]) -> dict[str, Any]:
    """The ``time.approved`` data of an approved entry; ``MappingError`` naming the entry."""
    eid = str(entry.get("id"))

    def fail(reason: str) -> MappingError:
        return MappingError(VENDOR, RECORD, eid, reason)

    user = entry.get("user") or {}
    person = people.get(str(user.get("id")))
    label = person.label if person else f"user {user.get('id')} ({user.get('name', '')})"
    if person is None or not person.worker_id:
        raise fail(f"Harvest {label} maps to no worker: a worker unknown to HR")
    if not person.role:
        raise fail(f"worker {person.worker_id} (Harvest {label}) has no role: none configured "
                   "for the user and none known from HR")
    project = entry.get("project") or {}
    code = projects.get(str(project.get("id")))
    if not code:
        raise fail(f"Harvest project {project.get('id')} ({project.get('name', '')}) has no "
                   "code (set the project's code in Harvest)")
    task = str((entry.get("task") or {}).get("name") or "").strip()
    if not task:
        raise fail("the entry has no task")
    data: dict[str, Any] = {
        "time_entry_id": entry_id(entry, rules), "worker_id": person.worker_id,
        "project_code": code, "task_code": rules.task_codes.get(task, task),
        "work_date": _date(entry.get("spent_date"), fail),
        "hours": hours(entry.get(rules.hours_field), fail),
        "approval_status": "approved", "billable": bool(entry.get("billable", True)),
        "role": person.role, "approved_at": moment(entry, fail),
    }
    if entry.get("notes"):
        data["notes"] = str(entry["notes"])
    return data


def rejected(time_entry_id: str, reason: str, at: str) -> dict[str, Any]:
    return {"time_entry_id": time_entry_id, "reason": reason, "rejected_at": at}


def withdrawn_reason(rules: TimeRules) -> str:
    flags = {"is_closed": "closed", "is_locked": "locked",
             "either": "closed or locked"}[rules.approved_when]
    return WITHDRAWN.format(flags=flags)


def hours(raw: Any, fail: Any = None) -> str:
    """Harvest's hours (a JSON float) as a decimal string, half-up to 2 places."""
    try:
        if isinstance(raw, bool) or raw is None:
            raise InvalidOperation
        value = Decimal(str(raw)).quantize(_CENTS, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        if fail:
            raise fail(f"hours {raw!r} is not a number") from None
        raise ValueError(f"hours {raw!r} is not a number") from None
    return format(value, "f")


def moment(entry: Mapping[str, Any], fail: Any) -> str:
    try:
        return rfc3339(parse_time(str(entry.get("updated_at") or "")))
    except ValueError:
        raise fail(f"updated_at {entry.get('updated_at')!r} is not a date-time") from None


def _date(raw: Any, fail: Any) -> str:
    text = str(raw or "")
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise fail(f"spent_date {raw!r} is not a date")
    return text
