"""project.closed: time after the close date is withdrawn (credited if invoiced)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, update

from syncline.adapters.db.tables import (
    projects,
    time_entries,
)
from syncline.domain.errors import Missing
from syncline.services.handlers.common import (
    project_closed,
    withdraw_time,
)
from syncline.services.messaging.outcomes import Applied, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch

# Built once (ADR 0002): a close runs them.
_PROJECT = select(projects.c.id, projects.c.closed_on).where(projects.c.code == bindparam("c"))
_CLOSED = update(projects).where(projects.c.id == bindparam("b_id")).values(
    closed_on=bindparam("b_on"), close_reason=bindparam("b_reason"))
_LATE = select(time_entries).where(
    (time_entries.c.project_code == bindparam("c"))
    & (time_entries.c.work_date > bindparam("on"))
    & (time_entries.c.status == "approved")).order_by(time_entries.c.time_entry_id)


def close_project(b: Batch, data: Mapping[str, Any]) -> Outcome:
    """Record the PSA's close of a project. Time worked after ``closed_on`` is refused
    (``billing.project_closed``), including time that arrived before the close; time worked
    up to the close date is billed whenever it arrives. Closed twice (reopened in between):
    the later close date holds, whatever order the closes arrive in."""
    code = str(data["project_code"])
    closed_on = date.fromisoformat(str(data["closed_on"]))
    row = b.conn.execute(_PROJECT, {"c": code}).first()
    if row is None:
        return Parked(Missing(f"project:{code}", f"project {code} is not provisioned yet"))
    if row.closed_on and row.closed_on >= closed_on.isoformat():
        return Applied(note=f"project already closed on {row.closed_on} (idempotent)")
    b.conn.execute(_CLOSED, {"b_id": row.id, "b_on": closed_on.isoformat(),
                             "b_reason": str(data.get("reason") or "") or None})
    b._projects.pop(code, None)
    late = b.conn.execute(_LATE, {"c": code, "on": closed_on.isoformat()}).all()
    for entry in late:
        withdraw_time(b, entry, project_closed(entry.time_entry_id, code, entry.work_date,
                                               closed_on))
    return Applied(note=f"{len(late)} time entr(y/ies) after the close refused" if late else "")
