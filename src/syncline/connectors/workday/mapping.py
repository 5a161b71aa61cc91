"""Workday worker records → canonical ``worker.upserted`` / ``worker.terminated`` data (pure).

One record is one worker as of a moment: a row of the firm's RaaS custom report
(``Report_Entry[i]``, flat columns named by the report designer) or an item of the REST
``workers`` resource (nested objects, read by dotted paths). ``WorkerRules.fields`` names where
each canonical field is read; the defaults are the column contract we ask the firm's Workday
admin for (docs/connectors/workday.md), the firm overrides any of them.

Rules:
- the role is the job profile through ``roles`` (job profile → Syncline role); a job profile
  that is not mapped, or a missing one, refuses the worker (``MappingError`` naming its id);
- the status text goes through ``statuses`` (``Active`` → ``active``, ``Terminated`` →
  ``terminated``, …); a terminated worker gives its ``worker.upserted`` (status terminated)
  and a ``worker.terminated`` (its termination date is then required);
- the cost rate is a decimal string (never a float: a JSON number is read through ``str``),
  written with at least two places; ``effective_date`` is the cost rate's effective date, the
  hire date when the report has none;
- the event id is the worker id and a hash of the mapped content, so reading an unchanged
  worker again is a duplicate; the ``sequence`` is the report's entry moment (epoch ms) when it
  has one, else the latest of the effective and termination dates, so it grows per worker;
- ``cost_center``, ``location`` and ``skills`` are carried when the record has them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import content_id, epoch_ms, parse_time

VENDOR = "workday"
RECORD = "Worker"

# canonical key → RaaS column (our column contract; the firm's report may name them otherwise)
RAAS_FIELDS: dict[str, str] = {
    "worker_id": "Employee_ID", "name": "Worker", "email": "Work_Email",
    "hire_date": "Hire_Date", "status": "Worker_Status", "termination_date": "Termination_Date",
    "termination_reason": "Termination_Reason", "cost_rate": "Cost_Rate",
    "cost_rate_currency": "Cost_Rate_Currency", "effective_date": "Cost_Rate_Effective_Date",
    "legal_entity": "Company_Reference_ID", "cost_center": "Cost_Center_ID",
    "location": "Location", "job_profile": "Job_Profile", "skills": "Skills",
    "entry_moment": "Last_Updated_Moment",
}
# the REST workers resource: only id/descriptor/primaryJob are seen second-hand (unconfirmed);
# everything else must be configured to a path the tenant's API version really has
REST_FIELDS: dict[str, str] = dict(
    RAAS_FIELDS, worker_id="id", name="descriptor",
    job_profile="primaryJob.jobProfile.descriptor", location="primaryJob.location.descriptor")
STATUSES: dict[str, str] = {"Active": "active", "On Leave": "leave",
                            "Leave of Absence": "leave", "Terminated": "terminated"}
REQUIRED = ("worker_id", "name", "job_profile", "legal_entity", "cost_rate",
            "cost_rate_currency", "status")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:$|[T+\-Z])")


@dataclass(frozen=True)
class WorkerRules:
    roles: Mapping[str, str]  # job profile → Syncline role
    fields: Mapping[str, str] = field(default_factory=lambda: dict(RAAS_FIELDS))
    statuses: Mapping[str, str] = field(default_factory=lambda: dict(STATUSES))


@dataclass(frozen=True)
class Mapped:
    """One canonical event's content: type, subject, data, id and sequence."""

    etype: str
    subject: str
    data: dict[str, Any]
    event_id: str
    sequence: int


def value(record: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (a column name, or ``a.b.c`` through nested objects); ``None``
    when absent or empty. A Workday reference object gives its ``descriptor``."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    if isinstance(current, Mapping) and "descriptor" in current:
        current = current["descriptor"]
    if current is None or (isinstance(current, str) and not current.strip()):
        return None
    return current


def record_id(record: Mapping[str, Any], rules: WorkerRules) -> str:
    wid = value(record, rules.fields["worker_id"])
    return str(wid).strip() if wid is not None else "(no worker id)"


def map_worker(record: Mapping[str, Any], rules: WorkerRules) -> list[Mapped]:
    """The events one worker record gives (see the module rules); ``MappingError`` if none."""
    wid = record_id(record, rules)

    def fail(reason: str) -> MappingError:
        return MappingError(VENDOR, RECORD, wid, reason)

    def get(key: str) -> Any:
        return value(record, rules.fields[key]) if key in rules.fields else None

    missing = [rules.fields.get(k, k) for k in REQUIRED if get(k) is None]
    if missing:
        raise fail("missing " + ", ".join(missing))
    profile = _text(get("job_profile"))
    role = rules.roles.get(profile)
    if role is None:
        raise fail(f"job profile {profile!r} is not mapped to a Syncline role (settings.roles)")
    status = rules.statuses.get(_text(get("status")))
    if status is None:
        raise fail(f"worker status {_text(get('status'))!r} is not mapped (settings.statuses)")
    hire = _date(get("hire_date"), "hire_date", fail)
    effective = _date(get("effective_date"), "effective_date", fail) or hire
    if effective is None:
        raise fail("no cost rate effective date and no hire date")
    data: dict[str, Any] = {"worker_id": wid, "name": _text(get("name"))}
    if get("email") is not None:
        data["email"] = _text(get("email"))
    data |= {"role": role, "legal_entity": _text(get("legal_entity")),
             "cost_rate": {"amount": _amount(get("cost_rate"), fail),
                           "currency": _text(get("cost_rate_currency")).upper()},
             "status": status}
    if hire is not None:
        data["hire_date"] = hire.isoformat()
    data["effective_date"] = effective.isoformat()
    for key in ("cost_center", "location"):
        if get(key) is not None:
            data[key] = _text(get(key))
    if get("skills") is not None:
        data["skills"] = _skills(get("skills"))
    ended = _date(get("termination_date"), "termination_date", fail)
    if status == "terminated" and ended is None:
        raise fail("terminated without a termination date")
    moment = get("entry_moment")
    last = max(effective, ended) if status == "terminated" and ended else effective
    sequence = (epoch_ms(_moment(moment, fail)) if moment is not None
                else epoch_ms(datetime.combine(last, datetime.min.time(), tzinfo=UTC)))
    subject = f"worker/{wid}"
    out = [Mapped("worker.upserted", subject, data, content_id(f"{RECORD}/{wid}", data),
                  sequence)]
    if status == "terminated" and ended is not None:
        ending: dict[str, Any] = {"worker_id": wid, "termination_date": ended.isoformat()}
        if get("termination_reason") is not None:
            ending["reason"] = _text(get("termination_reason"))
        out.append(Mapped("worker.terminated", subject, ending,
                          content_id(f"{RECORD}/{wid}/terminated", ending), sequence + 1))
    return out


def _text(raw: Any) -> str:
    return str(raw).strip()


def _amount(raw: Any, fail: Any) -> str:
    if isinstance(raw, bool):
        raise fail(f"cost rate {raw!r} is not a number")
    try:
        amount = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise fail(f"cost rate {raw!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise fail(f"cost rate {raw!r} is not a non-negative number")
    if amount.as_tuple().exponent > -2:  # type: ignore[operator]
        amount = amount.quantize(Decimal("0.01"))
    return format(amount, "f")


def _date(raw: Any, name: str, fail: Any) -> date | None:
    """``2024-06-30``, or the same with Workday's offset (``2024-06-30-07:00``) or a time."""
    if raw is None:
        return None
    match = _DATE.match(_text(raw))
    if match:
        try:
            return date.fromisoformat(match.group(1))
        except ValueError:
            pass
    raise fail(f"{name} {raw!r} is not a date")


def _moment(raw: Any, fail: Any) -> datetime:
    try:
        return parse_time(_text(raw))
    except ValueError:
        raise fail(f"entry moment {raw!r} is not a date-time") from None


def _skills(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else _text(raw).split(";")
    out = [_text(i.get("descriptor", "") if isinstance(i, Mapping) else i) for i in items]
    return [s for s in out if s]
