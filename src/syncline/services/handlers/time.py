"""time.approved (one at a time or as a set) and time.rejected (a reversal, credited if invoiced).
Time whose role has no bill rate on its day waits (parked on ``rate_card:<contract>``) until a
rate card that prices it is published. Time that states its dimensions (cost center, service
line) books to the firm's active ones (master data) or fails; they are kept in
``time_dimensions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from syncline.adapters.db.masterdata_tables import time_dimensions
from syncline.adapters.db.tables import (
    billable_items,
    time_entries,
    workers,
)
from syncline.billing.items import BillableItem, time_item
from syncline.billing.rates import RateNotFound, billed_quantity
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.domain.master_checks import dimensions_problems
from syncline.domain.model import BillingType
from syncline.domain.parsing import (
    parse_time,
    parse_time_rejection,
    time_objects,
)
from syncline.services.handlers.common import (
    after_termination,
    awaiting_activation,
    insert_item,
    item_row,
    project_closed,
    reverse_entry,
)
from syncline.services.handlers.time_lean import LeanTime
from syncline.services.handlers.time_words import APPROVED, REJECTED, record_words
from syncline.services.handlers.withdrawals import refused_approvals, resolve_refusals
from syncline.services.ids import new_id, new_ids
from syncline.services.messaging.bulk import driver, insert_rows, light, select_in
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch

# Built once, parameters bound per execute (lists of dicts: executemany).
_RECORDED = select(time_entries.c.id).where(time_entries.c.time_entry_id == bindparam("id"))
_RECORDED_SQL = f"SELECT time_entry_id FROM {time_entries.name} WHERE time_entry_id IN ({{}})"
_WORKER = select(workers.c.worker_id, workers.c.termination_date).where(
    workers.c.worker_id == bindparam("id"))
_WORKERS_SQL = (f"SELECT worker_id, termination_date FROM {workers.name} "
                "WHERE worker_id IN ({})")  # both text columns
_TIME_AND_MATERIALS = BillingType.TIME_AND_MATERIALS.value
_STATUS = "SELECT status FROM time_entries WHERE time_entry_id = ?"  # (bulk.driver)
_TIME = time_entries.insert()
_DIMENSIONS = time_dimensions.insert()
_ITEMS = billable_items.insert()


@dataclass(frozen=True, slots=True)
class TimeDecision:
    outcome: Outcome
    time_row: dict[str, Any] | None = None
    item: BillableItem | None = None
    dimension_rows: tuple[dict[str, Any], ...] = ()


def decide_time(b: Batch, data: Mapping[str, Any], worker: Any | None,
                recorded: bool) -> TimeDecision:
    """What an approved time entry comes to; writes nothing (the caller does, one or many)."""
    cmd = parse_time(data)
    if isinstance(cmd, list):
        return TimeDecision(Failed(tuple(cmd)))
    if recorded:
        return TimeDecision(Applied(note="time entry already recorded (idempotent)"))
    dims = data.get("dimensions") or {}
    wrong = dimensions_problems(b.ref, dims, flow="time", field="data.dimensions", objects=(
        ("time_entry", cmd.time_entry_id), ("project", cmd.project_code))) if dims else None
    if wrong:  # (no dimension stated: nothing to check)
        return TimeDecision(Failed(tuple(wrong)))
    found = b.project(cmd.project_code)
    if found is None:
        return TimeDecision(Parked(Missing(f"project:{cmd.project_code}",
                                           f"project {cmd.project_code} is not provisioned yet")))
    proj, tasks = found
    waiting = awaiting_activation(b, proj, f"time entry {cmd.time_entry_id}")
    if waiting is not None:
        return TimeDecision(Parked(waiting))
    if worker is None:
        return TimeDecision(Parked(Missing(f"worker:{cmd.worker_id}",
                                           f"worker {cmd.worker_id} is not synced from HR yet")))
    work_date = cmd.work_date.isoformat()
    if worker.termination_date and work_date > worker.termination_date:
        return TimeDecision(Failed((after_termination(
            cmd.time_entry_id, cmd.worker_id, cmd.work_date, worker.termination_date),)))
    if proj.closed_on and work_date > proj.closed_on:
        return TimeDecision(Failed((project_closed(
            cmd.time_entry_id, cmd.project_code, cmd.work_date, proj.closed_on),)))
    if cmd.task_code not in tasks:
        return TimeDecision(Failed((Problem(
            "time.unknown_task", BusinessDomain.PMO,
            f"task {cmd.task_code} is not in project {cmd.project_code}'s WBS",
            "Book the time to a WBS task of the project in the PSA and re-approve.",
            "data.task_code", objects=time_objects(data)),)))
    item: BillableItem | None = None
    billable = cmd.billable and tasks[cmd.task_code]
    if billable and proj.billing_type == _TIME_AND_MATERIALS:
        book = b.rates(proj.contract_id, proj.currency, proj.number, proj.customer_key)
        rate = b.price(proj.contract_id, book, cmd.role, cmd.work_date)
        if isinstance(rate, RateNotFound):  # waits for a card, released when one prices it
            return TimeDecision(Parked(Missing(
                f"rate_card:{proj.number}", f"{rate.message}; publish a {rate.role} rate in "
                f"{rate.currency} effective {rate.on} (rate_card.published: the contract's, "
                "its customer's or the default card) and the time is priced on its own")))
        item = time_item(cmd.time_entry_id, proj.number, cmd.work_date,
                         billed_quantity(cmd.hours, rate), cmd.role, rate.rate,
                         rate.entry.scope.name.lower(), rate_card=rate.card.label)
    row = {"id": new_id("tim"), "time_entry_id": cmd.time_entry_id,
           "worker_id": cmd.worker_id, "project_code": cmd.project_code,
           "task_code": cmd.task_code, "work_date": work_date,
           "hours": cmd.hours, "role": cmd.role, "billable": billable, "status": "approved",
           "inbox_id": b.inbox_id}
    return TimeDecision(Applied(provides=(f"time:{cmd.time_entry_id}",)), row, item, tuple(
        {"time_entry_id": cmd.time_entry_id, "kind": k, "code": str(v)}
        for k, v in sorted(dims.items())) if dims else ())


def _worker_row(b: Batch, worker_id: str) -> Any | None:
    return b.conn.execute(_WORKER, {"id": worker_id}).first()


def record_time(b: Batch, data: Mapping[str, Any]) -> Outcome:
    record_words(b.conn, APPROVED, [(b.inbox_id, data)])  # the PSA's word, for the close
    recorded = b.conn.execute(_RECORDED, {"id": data["time_entry_id"]}).first() is not None
    decision = decide_time(b, data, _worker_row(b, data["worker_id"]), recorded)
    if decision.time_row is not None:
        b.conn.execute(_TIME, [decision.time_row])
    if decision.item is not None:
        insert_item(b, decision.item)
    if decision.dimension_rows:
        b.conn.execute(_DIMENSIONS, list(decision.dimension_rows))
    return decision.outcome


def record_time_set(b: Batch, messages: list[tuple[str, Mapping[str, Any]]]) -> list[Outcome]:
    """Approved time as a set: two look-ups for the whole set, then bulk inserts.

    Same decisions as `record_time`, message by message, in order (a repeated entry id is
    idempotent within the set as across sets).
    """
    record_words(b.conn, APPROVED, messages)  # the PSA's word, for the close
    ids = [str(d["time_entry_id"]) for _, d in messages]
    recorded = {r[0] for r in select_in(b.conn, _RECORDED_SQL, ids)}
    codes = {str(d["project_code"]) for _, d in messages}
    b.preload_projects(codes)
    b.preload_rates(codes)
    wids = sorted({str(d["worker_id"]) for _, d in messages})
    known = {r.worker_id: r for r in light(select_in(b.conn, _WORKERS_SQL, wids))}
    outcomes: list[Outcome] = []
    time_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    dimension_rows: list[dict[str, Any]] = []
    lean = LeanTime(b)  # the common case; decide_time, the reference, decides the rest
    for (inbox_id, data), time_id in zip(messages, new_ids("tim", len(messages)),
                                         strict=True):
        b.inbox_id = inbox_id
        worker = known.get(data["worker_id"])
        entry = str(data["time_entry_id"])
        if entry not in recorded and (fast := lean.decide(data, worker, time_id)) is not None:
            outcome, time_row, item = fast
            time_rows.append(time_row)
            recorded.add(time_row["time_entry_id"])
            if item is not None:
                item_rows.append(item)
            outcomes.append(outcome)
            continue
        decision = decide_time(b, data, worker, entry in recorded)
        if decision.time_row is not None:
            time_rows.append(decision.time_row)
            recorded.add(decision.time_row["time_entry_id"])
        if decision.item is not None:
            item_rows.append(item_row(decision.item))
        dimension_rows.extend(decision.dimension_rows)
        outcomes.append(decision.outcome)
    insert_rows(b.conn, time_entries, time_rows)
    insert_rows(b.conn, time_dimensions, dimension_rows)
    insert_rows(b.conn, billable_items, item_rows)
    return outcomes


def reverse_time(b: Batch, data: Mapping[str, Any]) -> Outcome:
    record_words(b.conn, REJECTED, [(b.inbox_id, data)])  # the PSA's word, for the close
    cmd = parse_time_rejection(data)
    entry = driver(b.conn, _STATUS, (cmd.time_entry_id,)).first()
    if entry is None and refused_approvals(b, cmd.time_entry_id):  # withdrawals.py
        done = resolve_refusals(b, cmd.time_entry_id, cmd.reason)
        return Applied(note="withdrawn by the PSA; refused on arrival"
                       + (f", resolved {', '.join(done)}" if done else ""))
    if entry is None:
        return Parked(Missing(f"time:{cmd.time_entry_id}",
                              f"time entry {cmd.time_entry_id} has not been approved here yet"))
    resolve_refusals(b, cmd.time_entry_id, cmd.reason)
    if entry.status == "reversed":
        return Applied(note="already reversed")
    invoiced = reverse_entry(b, cmd.time_entry_id,
                              f"time entry {cmd.time_entry_id} rejected: {cmd.reason}")
    return Applied(note=f"credit requested on {', '.join(invoiced)}" if invoiced else "")
