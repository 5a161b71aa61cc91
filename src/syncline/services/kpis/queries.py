"""What the KPIs read: one function per KPI, read-only, returning the facts the pure
``formulas`` turn into figures. Stored timestamps are ISO-8601 UTC strings (``...Z``), so a
month is the string range ``[YYYY-MM-01, next month's 01)``.

Entity attribution: a contract's ``entity_code``; an invoice's own; an exception through the
first contract, invoice or project among its objects (``*`` when none names one).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, exists, func, literal_column, or_, select

from syncline.adapters.db.masterdata_tables import project_profiles
from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    exceptions,
    inbox,
    inbox_revisions,
    invoices,
    milestones,
    outbox,
    parked,
    projects,
    time_entries,
)
from syncline.services.kpis import formulas as f
from syncline.services.ledger.queries import period_end
from syncline.services.ledger.reports.aging import not_invoiced_by

ANY = "*"
CHUNK = 500  # ids in one IN (…) look-up


def month_range(period: str) -> tuple[str, str]:
    """The ISO string bounds of a month: first day (inclusive), next month's first (exclusive)."""
    nxt = period_end(period) + timedelta(days=1)
    return f"{period}-01", nxt.isoformat()


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Entities:
    """Which legal entity a contract, invoice or project belongs to (read once)."""

    def __init__(self, conn: Connection) -> None:
        self.contract = {r.number: r.entity_code for r in conn.execute(
            select(contracts.c.number, contracts.c.entity_code))}
        self.invoice = {r.number: r.entity_code for r in conn.execute(
            select(invoices.c.number, invoices.c.entity_code))}
        self.deal = {r.deal_id: r.entity_code for r in conn.execute(
            select(contracts.c.deal_id, contracts.c.entity_code))}
        self.project = {r.code: r.entity_code for r in conn.execute(
            select(projects.c.code, contracts.c.entity_code).join(
                contracts, contracts.c.id == projects.c.contract_id))}

    def of_objects(self, objects: str) -> str:
        for kind, ident in json.loads(objects or "[]"):
            found = {"contract": self.contract, "invoice": self.invoice,
                     "project": self.project}.get(kind, {}).get(ident)
            if found:
                return str(found)
        return ANY


# the literal types: a partial index is used when the query's condition is its own (0030)
DEAL_CLOSED = inbox.c.type == literal_column("'deal.closed_won'")
AMENDED = inbox.c.type == literal_column("'contract.amended'")


def _deal_closed(conn: Connection, deals: Iterable[str]) -> dict[str, datetime]:
    """deal id → when it was closed, for ``deals``: ``data.closed_at`` of its first applied
    ``deal.closed_won``, else that event's time. The deals' messages are looked up by their
    subject (``deal/<id>``, or the bare id) in the deal messages' own index (0030)."""
    subjects = sorted({s for d in deals for s in (f"deal/{d}", d)})
    rows = sorted((r for start in range(0, len(subjects), CHUNK) for r in conn.execute(
        select(inbox.c.seq, inbox.c.subject, inbox.c.raw, inbox.c.event_time, inbox.c.status)
        .where(DEAL_CLOSED & inbox.c.subject.in_(subjects[start:start + CHUNK])))
        if r.status == "applied"), key=lambda r: r.seq)  # (the status index would win)
    out: dict[str, datetime] = {}
    for r in rows:
        deal_id = (r.subject or "").removeprefix("deal/")
        if deal_id in out:
            continue
        closed = json.loads(r.raw).get("data", {}).get("closed_at") or r.event_time
        if closed:
            out[deal_id] = stamp(closed)
    return out


def _project_active(conn: Connection) -> dict[str, datetime]:
    """project code → when it became active: its ``project.activated`` (profile) or, without
    one, the delivery of its provisioning's last step (``psa.budget.update``)."""
    out: dict[str, datetime] = {}
    for r in conn.execute(select(outbox.c.payload, outbox.c.delivered_at).where(
            (outbox.c.kind == "psa.budget.update") & (outbox.c.status == "delivered"))):
        code = json.loads(r.payload).get("code")
        if code and r.delivered_at:
            out.setdefault(code, stamp(r.delivered_at))
    for r in conn.execute(select(projects.c.code, project_profiles.c.activated_at).join(
            project_profiles, project_profiles.c.project_id == projects.c.id)):
        out[r.code] = stamp(r.activated_at)
    return out


def setup_cycle_samples(conn: Connection, period: str) -> dict[str, list[Decimal]]:
    """entity → cycle days (deal closed → project active) of projects active in the month."""
    start, stop = month_range(period)
    active = _project_active(conn)
    went_active = [r for r in conn.execute(
        select(projects.c.code, contracts.c.deal_id, contracts.c.entity_code)
        .join(contracts, contracts.c.id == projects.c.contract_id))
        if r.code in active and start <= active[r.code].date().isoformat() < stop]
    closed = _deal_closed(conn, {r.deal_id for r in went_active})
    out: dict[str, list[Decimal]] = defaultdict(list)
    for r in went_active:
        went = active.get(r.code)
        began = closed.get(r.deal_id)
        if went is None or began is None or not start <= went.date().isoformat() < stop:
            continue
        out[r.entity_code].append(f.days_between(began, went))
    return out


def _time_entry_of(row: Any) -> str | None:
    ref = (row.origin or row.key).split("#")[0]
    return ref.removeprefix("time:") if ref.startswith("time:") else None


def time_to_invoice_samples(conn: Connection, period: str) -> dict[str, list[Decimal]]:
    """entity → days from a time entry's approval (its ``time.approved`` event time) to the
    date of the invoice that billed it, over time items on invoices dated in the month. Reads
    the month's invoiced items, then the approval of just their entries (by the unique time
    entry id): the month's work, not the history's."""
    start, stop = month_range(period)
    rows = conn.execute(select(billable_items.c.key, billable_items.c.origin,
                               invoices.c.number, invoices.c.invoice_date,
                               invoices.c.entity_code)
                        .join(invoices, invoices.c.number == billable_items.c.invoice_number)
                        .where((billable_items.c.source == "time")
                               & (invoices.c.invoice_date >= start)
                               & (invoices.c.invoice_date < stop))).all()
    entries = sorted({e for e in map(_time_entry_of, rows) if e is not None})
    approved: dict[str, datetime] = {}
    for at in range(0, len(entries), CHUNK):
        for r in conn.execute(select(time_entries.c.time_entry_id, inbox.c.event_time).join(
                inbox, inbox.c.id == time_entries.c.inbox_id).where(
                time_entries.c.time_entry_id.in_(entries[at:at + CHUNK]))):
            if r.event_time:
                approved[r.time_entry_id] = stamp(r.event_time)
    out: dict[str, list[Decimal]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for r in rows:
        entry = _time_entry_of(r)
        if entry is None or entry not in approved or (entry, r.number) in seen:
            continue  # a split entry counts once per invoice
        seen.add((entry, r.number))
        days = f.calendar_days(approved[entry].date(), date.fromisoformat(r.invoice_date))
        out[r.entity_code].append(Decimal(days))
    return out


def unbilled_time(conn: Connection, period: str) -> list[tuple[str, str, Decimal]]:
    """(entity, currency, amount) of approved billable time items with a service date on or
    before the month's end that no invoice dated on or before it carries. Reads only those
    items (`aging.not_invoiced_by`: never invoiced, on a later invoice, or naming no stored
    invoice), not every item of the history; a credited item counts only on a later invoice."""
    end = period_end(period).isoformat()
    b = billable_items.c
    time_served = (b.source == "time") & (b.service_date <= end) & b.status.notin_(
        ("reversed", "written_off"))
    never, later, orphaned = not_invoiced_by(conn, end, time_served)
    entity = Entities(conn).contract
    out = []
    for part, credited_count in ((never, False), (later, True), (orphaned, False)):
        if part is None:
            continue
        for r in conn.execute(part):
            if r.status == "credited" and not credited_count:
                continue  # (credited, and on no invoice dated by the month's end)
            out.append((str(entity.get(r.contract_number, ANY)), r.currency,
                        Decimal(r.amount)))
    return out


def billing_exceptions(conn: Connection, period: str, entities: Entities
                       ) -> tuple[dict[str, int], dict[str, int]]:
    """(entity → billing-domain exceptions raised in the month, entity → invoices dated in
    it)."""
    start, stop = month_range(period)
    raised: dict[str, int] = defaultdict(int)
    for r in conn.execute(select(exceptions.c.objects).where(
            (exceptions.c.domain == "billing") & (exceptions.c.created_at >= start)
            & (exceptions.c.created_at < stop))):
        raised[entities.of_objects(r.objects)] += 1
    issued: dict[str, int] = defaultdict(int)
    for r in conn.execute(select(invoices.c.entity_code).where(
            (invoices.c.invoice_date >= start) & (invoices.c.invoice_date < stop))):
        issued[r.entity_code] += 1
    return raised, issued


def unrecognized_milestones(conn: Connection, period: str) -> list[tuple[str, str, Decimal]]:
    """(entity, currency, amount) of milestones completed on or before the month's end that
    no invoice dated on or before it bills (revenue on invoice: not yet recognized)."""
    end = period_end(period).isoformat()
    dated = {r.number: r.invoice_date for r in conn.execute(
        select(invoices.c.number, invoices.c.invoice_date))}
    billed: set[str] = set()
    for r in conn.execute(select(billable_items.c.key, billable_items.c.origin,
                                 billable_items.c.invoice_number).where(
            billable_items.c.source == "milestone")):
        on = dated.get(r.invoice_number or "")
        if on is not None and on <= end:
            billed.add((r.origin or r.key).split("#")[0].removeprefix("milestone:").split(":")[0])
    out = []
    for r in conn.execute(select(milestones.c.milestone_id, milestones.c.amount,
                                 contracts.c.entity_code, contracts.c.currency)
                          .join(contracts, contracts.c.id == milestones.c.contract_id)
                          .where(milestones.c.completed_on <= end)):
        if r.milestone_id not in billed:
            out.append((r.entity_code, r.currency, Decimal(r.amount)))
    return out


def open_exception_ages(conn: Connection, as_of: datetime, entities: Entities
                        ) -> list[tuple[str, str, int]]:
    """(entity, domain, whole days open) of exceptions raised by ``as_of`` and not resolved
    or skipped by then."""
    at = as_of.isoformat().replace("+00:00", "Z")
    out = []
    for r in conn.execute(select(exceptions.c.objects, exceptions.c.domain,
                                 exceptions.c.created_at, exceptions.c.resolved_at)
                          .where(exceptions.c.created_at <= at)):
        if r.resolved_at is not None and r.resolved_at <= at:
            continue
        out.append((entities.of_objects(r.objects), r.domain,
                    (as_of - stamp(r.created_at)).days))
    return out


def straight_through_counts(conn: Connection, period: str) -> tuple[int, int]:
    """(messages received in the month and processed at least once — every status but
    ``received`` — , of which applied with no manual step):
    never edited (``inbox_revisions``), never the subject of an exception (rejected, failed,
    or parked long enough to raise one, then replayed or skipped). One count over the month's
    messages (found by their arrival time: migration 0027), each applied one looked up in the
    three tables by its id: the month's work, not the history's."""
    start, stop = month_range(period)
    month = (inbox.c.received_at >= start) & (inbox.c.received_at < stop) & (
        inbox.c.status != "received")
    touched = or_(
        exists().where(inbox_revisions.c.inbox_id == inbox.c.id),
        exists().where(exceptions.c.inbox_id == inbox.c.id),
        exists().where((parked.c.inbox_id == inbox.c.id) & parked.c.exception_id.is_not(None)))
    settled, untouched = conn.execute(select(
        func.count(), func.count().filter((inbox.c.status == "applied") & ~touched)
    ).where(month)).one()
    return int(settled), int(untouched)


def amendments_waiting(conn: Connection, entities: Entities, as_of: datetime
                       ) -> list[tuple[str, str]]:
    """(entity, why) of contract amendments not yet propagated at ``as_of``: ``undelivered``
    — the PSA budget update it emitted was created by then and not delivered by then (pending,
    failed, or delivered later); ``not_applied`` — the ``contract.amended`` message was
    received by then and is parked or failed (not recorded), or was recorded only later."""
    at = as_of.isoformat().replace("+00:00", "Z")
    out: list[tuple[str, str]] = []
    for r in conn.execute(select(outbox.c.payload, outbox.c.delivered_at).where(
            (outbox.c.kind == "psa.budget.update") & (outbox.c.created_at <= at))):
        if r.delivered_at is not None and r.delivered_at <= at:
            continue
        payload = json.loads(r.payload)
        if payload.get("amendment"):
            out.append((entities.project.get(payload.get("code"), ANY), "undelivered"))
    for r in conn.execute(select(inbox.c.raw, inbox.c.status, inbox.c.applied_at).where(
            AMENDED & (inbox.c.received_at <= at))):  # the amendments' own index (0030)
        if r.status not in ("parked", "failed", "applied"):  # (not in SQL: the status
            continue  # index would be chosen and read every applied message)
        if r.status == "applied" and (r.applied_at is None or r.applied_at <= at):
            continue
        deal_id = json.loads(r.raw).get("data", {}).get("deal_id")
        out.append((str(entities.deal.get(deal_id, ANY)), "not_applied"))
    return out
