"""Pieces several flows share: cross-references, item rows, reversal and withdrawal of time,
and the problems they raise."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, delete, or_, select, update

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.tables import (
    billable_items,
    inbox,
    time_entries,
    xref,
)
from syncline.billing.items import BillableItem, ItemStatus
from syncline.billing.rates import RateNotFound
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.services.billing.reversal import reverse_origin
from syncline.services.messaging.bulk import driver, insert_rows
from syncline.services.messaging.exceptions import raise_exception
from syncline.services.messaging.unit_of_work import Batch
from syncline.services.xref import linked_id

# Built once. Rows go straight to the driver (bulk.insert_rows: what Core's insert would store).
_REVERSED = "UPDATE time_entries SET status = 'reversed' WHERE time_entry_id = ?"  # (driver)


def awaiting_activation(b: Batch, project: Any, what: str) -> Missing | None:
    """When the firm requires activation (master data ``project_activation: required``), a
    project the PSA has not activated yet — billing rule and legal entity not approved —
    holds its time, expenses and milestones: they park on ``activation:<code>`` and apply
    when ``project.activated`` does (or become a PMO exception past the park age)."""
    if not b.ref.activation_required or project.activated_at is not None:
        return None
    return Missing(f"activation:{project.code}",
                   f"{what} waits for project {project.code}'s activation in the PSA "
                   "(project.activated: billing rule and legal entity approved); the firm's "
                   "master data requires it before anything moves")


def record_xref(b: Batch, system: str, object_type: str, external_id: str,
                syncline_id: str) -> None:
    """Record which Syncline object an outside id means; a link already there (an
    operator's repair: services/xref.py) is kept."""
    if linked_id(b.conn, system, object_type, external_id) is None:
        insert_xref(b, system, object_type, external_id, syncline_id)


def insert_xref(b: Batch, system: str, object_type: str, external_id: str,
                syncline_id: str) -> None:
    """`record_xref` where the caller has just read that no link is there."""
    insert_rows(b.conn, xref, [{"system": system, "object_type": object_type,
                               "external_id": external_id, "syncline_id": syncline_id}])


def record_xrefs(b: Batch, links: tuple[tuple[str, str, str, str], ...],
                 found: set[tuple[str, str, str]] | None = None) -> None:
    """`record_xref` of each ``(system, object type, external id, syncline id)`` (distinct
    keys), looked up in one statement and written in one. ``found``: the keys of `links`
    that are stored, when the caller has read them in this transaction already."""
    if found is None:
        found = {tuple(r) for r in b.conn.execute(_linked_of(len(links)), {
            f"{name}{i}": value for i, link in enumerate(links)
            for name, value in zip("ste", link, strict=False)})}
    rows = [{"system": s, "object_type": t, "external_id": e, "syncline_id": i}
            for s, t, e, i in links if (s, t, e) not in found]
    if rows:
        insert_rows(b.conn, xref, rows)


_LINKED_OF: dict[int, Select[Any]] = {}


def _linked_of(n: int) -> Select[Any]:
    """The keys of ``n`` links that are stored (parameters s0, t0, e0, s1 …); built once."""
    if n not in _LINKED_OF:
        _LINKED_OF[n] = select(xref.c.system, xref.c.object_type, xref.c.external_id).where(
            or_(*((xref.c.system == bindparam(f"s{i}")) & (xref.c.object_type == bindparam(
                f"t{i}")) & (xref.c.external_id == bindparam(f"e{i}")) for i in range(n))))
    return _LINKED_OF[n]


def after_termination(entry_id: str, worker_id: str, work_date: str | date,
                       last_day: date | str) -> Problem:
    return Problem(
        "time.after_termination", BusinessDomain.HR,
        f"time entry {entry_id} on {work_date} is after worker {worker_id}'s last day "
        f"({last_day})", "HR and the project manager confirm the worker's dates; correct the "
        "termination date in the HRIS or reject the time in the PSA.", "data.work_date",
        objects=(("time_entry", entry_id), ("worker", worker_id)))


def project_closed(entry_id: str, project_code: str, work_date: date | str,
                   closed_on: date | str) -> Problem:
    return Problem(
        "billing.project_closed", BusinessDomain.BILLING,
        f"time entry {entry_id} on {work_date} is after project {project_code} was closed "
        f"({closed_on})", "Reopen the project in the PSA or move the time to an open project, "
        "then replay this message.", "data.work_date",
        objects=(("time_entry", entry_id), ("project", project_code)))


def rate_missing(missing: RateNotFound, contract_number: str,
                 objects: tuple[tuple[str, str], ...]) -> Problem:
    return Problem(
        "billing.rate_missing", BusinessDomain.BILLING, missing.message,
        f"Publish a {missing.role} rate in {missing.currency} effective {missing.on} on "
        f"contract {contract_number}'s rate card (or its customer's or the default card: "
        "rate_card.published), then replay this message.", "data.role", objects=objects)


def item_row(item: BillableItem) -> dict[str, Any]:
    return {"key": item.key, "contract_number": item.contract_number,
            "source": item.source.value, "service_date": item.service_date.isoformat(),
            "description": item.description, "quantity": item.quantity,
            "unit_price": item.unit_price.amount, "currency": item.unit_price.currency,
            "amount": item.amount.amount, "rate_scope": item.rate_scope,
            "rate_card": item.rate_card or None, "role": item.role or None,
            "status": ItemStatus.GENERATED.value, "invoice_number": None}


def insert_item(b: Batch, item: BillableItem) -> None:
    insert_rows(b.conn, billable_items, [item_row(item)])


def reverse_entry(b: Batch, time_entry_id: str, reason: str) -> list[str]:
    """Reverse a time entry and its open items; invoiced items get a credit request.
    Returns the invoices concerned."""
    driver(b.conn, _REVERSED, (time_entry_id,))
    return reverse_origin(b.conn, f"time:{time_entry_id}", reason, now=b.now,
                          inbox_id=b.inbox_id)


def withdraw_time(b: Batch, entry: Any, problem: Problem) -> None:
    """Approved time that should have been refused (a fact arrived later: the project closed
    before it, its rate was withdrawn) ends as if it had been refused on arrival: its time
    entry and open item are removed, its message is failed with one exception, so the result
    does not depend on the arrival order. Once invoiced (or split by a cap, or held) it cannot
    be undone silently: the entry is reversed and a credit note requested instead."""
    origin = f"time:{entry.time_entry_id}"
    parts = b.conn.execute(select(billable_items.c.key, billable_items.c.status).where(
        or_(billable_items.c.key == origin, billable_items.c.origin == origin))).all()
    held = b.conn.execute(select(billing_holds.c.item_key).where(
        billing_holds.c.item_key.in_([p.key for p in parts]))).first() if parts else None
    clean = held is None and all(
        p.key == origin and p.status == ItemStatus.GENERATED.value for p in parts)
    message = b.conn.execute(select(inbox.c.correlation_id).where(
        inbox.c.id == entry.inbox_id)).first()
    if clean:
        b.conn.execute(delete(billable_items).where(billable_items.c.key == origin))
        b.conn.execute(delete(time_entries).where(
            time_entries.c.time_entry_id == entry.time_entry_id))
        b.conn.execute(update(inbox).where(inbox.c.id == entry.inbox_id).values(
            status="failed", reason=problem.message))
    else:
        b.conn.execute(update(time_entries).where(
            time_entries.c.time_entry_id == entry.time_entry_id).values(status="reversed"))
        reverse_origin(b.conn, origin, problem.message, now=b.now, inbox_id=entry.inbox_id)
    raise_exception(b.conn, problem, now=b.now, inbox_id=entry.inbox_id,
                    correlation_id=message.correlation_id if message else b.correlation_id)


class Days(dict[str, tuple[date, str]]):
    """ISO dates as a set's messages send them, parsed once a set: the text -> (the date,
    its ISO text). A text that is not a date raises ``ValueError`` as parsing it does."""

    __slots__ = ()

    def __missing__(self, text: str) -> tuple[date, str]:
        parsed = date.fromisoformat(text)
        day = self[text] = (parsed, parsed.isoformat())
        return day
