"""worker.upserted and worker.terminated: effective-dated HR versions (with their HR facts:
handlers/staffing.record_profile); time after a last day is reversed and assignments running
past it are flagged for PMO.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select, update

from syncline.adapters.db.tables import (
    time_entries,
    worker_versions,
    workers,
    xref,
)
from syncline.domain.errors import Missing
from syncline.domain.parsing import (
    parse_termination,
    parse_worker,
)
from syncline.services.handlers.common import (
    after_termination,
    insert_xref,
    reverse_entry,
)
from syncline.services.handlers.staffing import flag_assignments_after, record_profile
from syncline.services.ids import new_id
from syncline.services.messaging.bulk import driver, insert_rows
from syncline.services.messaging.exceptions import raise_exception
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch

# Built once (a worker message runs them).
# What a worker version reads, in one statement: whether the version is stored, the worker
# (its columns None when there is none yet) and its HRIS link. Writing the version first (as
# the handler did between these reads) changes neither the worker nor its link. Text and
# integers: straight through the driver (bulk.driver); parameters worker, sequence, worker,
# worker.
_STATE = (
    f"SELECT EXISTS (SELECT 1 FROM {worker_versions.name} WHERE worker_id = ? AND sequence = ?)"
    f" AS version_stored, (SELECT syncline_id FROM {xref.name} WHERE system = 'hris' AND "
    "object_type = 'worker' AND external_id = ?) AS linked, w.id, w.last_sequence, "
    f"w.termination_date FROM (SELECT 1 AS one) AS one LEFT OUTER JOIN {workers.name} AS w "
    "ON w.worker_id = ?")
_UPDATED = update(workers).where(workers.c.id == bindparam("b_id")).values(
    status=bindparam("b_status"), name=bindparam("b_name"), role=bindparam("b_role"),
    entity_code=bindparam("b_entity_code"), last_sequence=bindparam("b_last_sequence"))


def upsert_worker(b: Batch, data: Mapping[str, Any]) -> Outcome:
    seq = b.sequence or 0
    cmd = parse_worker(data, seq)
    if isinstance(cmd, list):
        return Failed(tuple(cmd))
    w = cmd.worker_id
    state = driver(b.conn, _STATE, (w, seq, w, w)).one()
    if not state.version_stored:
        insert_rows(b.conn, worker_versions, [dict(
            worker_id=cmd.worker_id, sequence=seq, effective_date=cmd.effective_date.isoformat(),
            role=cmd.role, entity_code=cmd.entity_code, cost_rate=cmd.cost_rate.amount,
            cost_currency=cmd.cost_rate.currency)])
        record_profile(b, data, seq)
    row = state if state.id is not None else None
    fields = {"name": cmd.name, "role": cmd.role, "entity_code": cmd.entity_code,
              "last_sequence": seq}
    if row is None:
        worker_key = new_id("wkr")
        insert_rows(b.conn, workers, [dict(
            id=worker_key, worker_id=cmd.worker_id, status=cmd.status, **fields)])
        if state.linked is None:  # (`record_xref`: a link there is kept)
            insert_xref(b, "hris", "worker", cmd.worker_id, worker_key)
        return Applied(provides=(f"worker:{cmd.worker_id}",))
    if seq <= row.last_sequence:
        return Applied(note=f"older version {seq} kept in history; current is {row.last_sequence}")
    status = "terminated" if row.termination_date else cmd.status
    b.conn.execute(_UPDATED, {"b_id": row.id, "b_status": status,
                              **{f"b_{k}": v for k, v in fields.items()}})
    return Applied()


def terminate_worker(b: Batch, data: Mapping[str, Any]) -> Outcome:
    cmd = parse_termination(data)
    row = b.conn.execute(select(workers).where(workers.c.worker_id == cmd.worker_id)).first()
    if row is None:
        return Parked(Missing(f"worker:{cmd.worker_id}", f"worker {cmd.worker_id} not synced yet"))
    b.conn.execute(update(workers).where(workers.c.id == row.id).values(
        status="terminated", termination_date=cmd.termination_date.isoformat()))
    # Time after the last day that arrived before the termination is reversed, one exception each.
    late = b.conn.execute(select(time_entries).where(
        (time_entries.c.worker_id == cmd.worker_id)
        & (time_entries.c.work_date > cmd.termination_date.isoformat())
        & (time_entries.c.status == "approved"))).all()
    for entry in late:
        reverse_entry(b, entry.time_entry_id, f"time entry {entry.time_entry_id} is after "
                       f"worker {cmd.worker_id}'s last day {cmd.termination_date}")
        raise_exception(b.conn, after_termination(entry.time_entry_id, cmd.worker_id,
                                                   entry.work_date, cmd.termination_date),
                        now=b.now, inbox_id=entry.inbox_id, correlation_id=b.correlation_id)
    flag_assignments_after(b, cmd.worker_id, cmd.termination_date)
    return Applied()
