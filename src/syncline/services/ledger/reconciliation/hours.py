"""Close reconciliation, hours and labor cost: what the PSA approved vs what was recorded,
approved vs costed hours, approved billable vs billed hours (after the rate card's billing
increment), and approved time costed at HR rates vs the labor cost in the GL."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, exists, select

from syncline.adapters.db.billing_tables import rate_cards
from syncline.adapters.db.close_tables import psa_time_words
from syncline.adapters.db.tables import billable_items, exceptions, inbox, parked, time_entries
from syncline.billing.rates import BillingIncrement, QuantityRounding, round_quantity
from syncline.ledger.accounts import ChartOfAccounts, Charts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import period_of, period_start
from syncline.ledger.posting import DEFAULT_RULES, PostingRules
from syncline.services.handlers.time_words import APPROVED, REJECTED
from syncline.services.ledger.held import held
from syncline.services.ledger.labor_cost import Key, known_cost, months_trued_up, posted_cost
from syncline.services.ledger.periods import status_of
from syncline.services.ledger.queries import period_end
from syncline.services.ledger.reconciliation.core import Recon, gl_balance
from syncline.services.ledger.reports.common import (
    NOT_BILLABLE_ITEM_STATUSES,
    ZERO,
    costed_time,
    project_info,
)


def psa_hours_vs_recorded(conn: Connection, rec: Recon, period: str,
                          entity: str | None) -> None:
    """What the PSA approved for the period (per time entry its last applied `time.approved`,
    else its last message, also one refused or parked: ``_psa_word``) against the time
    Syncline recorded; each entry not recorded is listed with its cause: the exception's code,
    or the reason it is parked. Reads the period's words (``psa_time_words``), never the whole
    inbox."""
    check = "PSA approved = recorded hours"
    start, end = period_start(period).isoformat(), period_end(period).isoformat()
    info = project_info(conn)
    words, rejected_by_psa = held(conn, ("psa_word", start, end),
                                  lambda: _psa_word(conn, start, end))
    recorded = held(conn, ("recorded_hours", start, end), lambda: {
        r.time_entry_id: r.hours for r in conn.execute(
            select(time_entries.c.time_entry_id, time_entries.c.hours).where(
                (time_entries.c.work_date >= start) & (time_entries.c.work_date <= end)))})
    open_exc, waiting = held(conn, ("psa_word_causes", start, end),
                             lambda: _causes(conn, words))
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for r, data in words:
        entry_id, day = str(data["time_entry_id"]), str(data["work_date"])
        if not (start <= day <= end) or entry_id in rejected_by_psa:
            continue
        project = info.get(str(data.get("project_code")))
        ent = project.entity if project else ""
        if entity and ent != entity:
            continue
        try:
            hours = Decimal(str(data.get("hours")))
        except ArithmeticError:
            hours = ZERO
        got = recorded.get(entry_id, ZERO)
        totals[(ent, "hours")][0] += hours
        totals[(ent, "hours")][1] += got
        if got == hours:
            continue
        exc = open_exc.get(r.id)
        if exc is not None:
            cause, detail = exc.code, f"exception {exc.id}"
        elif r.id in waiting:
            cause, detail = "parked", waiting[r.id]
        else:
            cause, detail = f"message_{r.status}", f"inbox {r.id}"
        rec.diff(check, cause, "time_entry", entry_id, ent, "hours", hours, got, detail)
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "the PSA's last applied approval of each time entry of the period (else its "
              "last message) vs time recorded; entity '' = project unknown", entity=entity)


def _causes(conn: Connection, words: list[tuple[Any, dict[str, Any]]]
            ) -> tuple[dict[str, Any], dict[str, str]]:
    """The open exception and the parked reason of each message of ``words``, by inbox id."""
    ids = sorted({r.id for r, _ in words})
    open_exc: dict[str, Any] = {}
    waiting: dict[str, str] = {}
    for chunk in _chunks(ids):
        open_exc.update((r.inbox_id, r) for r in conn.execute(
            select(exceptions.c.inbox_id, exceptions.c.id, exceptions.c.code).where(
                (exceptions.c.status == "open") & exceptions.c.inbox_id.in_(chunk))))
        waiting.update((r.inbox_id, r.reason) for r in conn.execute(
            select(parked.c.inbox_id, parked.c.reason).where(
                parked.c.released_at.is_(None) & parked.c.inbox_id.in_(chunk))))
    return open_exc, waiting


def _chunks(ids: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _psa_word(conn: Connection, start: str, end: str
              ) -> tuple[list[tuple[Any, dict[str, Any]]], set[str]]:
    """The PSA's word on each time entry with a word dated in [start, end]: its last *applied*
    ``time.approved`` message in arrival order (a correction approved after a failed or
    earlier approval replaces it), or, when none was applied, its last message (whose status
    or exception says why not); and which of those entries an applied ``time.rejected``
    withdrew.

    Read from ``psa_time_words`` (period-indexed, written by the time handler) joined to the
    inbox for each message's live status and arrival order; every word on the period's
    entries is read, so a correction that moved an entry into or out of the period counts.
    The only messages read raw are approvals refused on receipt or failed without a word (a
    schema refusal never reaches the handler; a defect rolls the handler's writes back):
    found by the inbox's status index, few, and decoded as before."""
    words = psa_time_words
    unheard = [(r, _data(r.raw)) for r in conn.execute(
        select(inbox.c.id, inbox.c.seq, inbox.c.status, inbox.c.raw).where(
            inbox.c.status.in_(("rejected", "failed")) & (inbox.c.type == "time.approved")
            & ~exists().where(words.c.inbox_id == inbox.c.id)))]
    unheard = [(r, d) for r, d in unheard if d is not None]
    entries = set(conn.execute(select(words.c.time_entry_id).where(
        (words.c.work_date >= start) & (words.c.work_date <= end))).scalars())
    entries.update(str(d["time_entry_id"]) for _, d in unheard
                   if start <= str(d["work_date"]) <= end)
    said: list[tuple[Any, str, dict[str, Any]]] = [(r, APPROVED, d) for r, d in unheard
                                                   if str(d["time_entry_id"]) in entries]
    for chunk in _chunks(sorted(entries)):
        for r in conn.execute(select(inbox.c.id, inbox.c.seq, inbox.c.status, words.c.kind,
                                     words.c.time_entry_id, words.c.work_date,
                                     words.c.project_code, words.c.hours)
                              .join(inbox, inbox.c.id == words.c.inbox_id)
                              .where(words.c.time_entry_id.in_(chunk))):
            said.append((r, r.kind, {"time_entry_id": r.time_entry_id, "work_date": r.work_date,
                                     "project_code": r.project_code, "hours": r.hours}))
    said.sort(key=lambda s: s[0].seq)
    last: dict[str, tuple[Any, dict[str, Any]]] = {}
    applied: dict[str, tuple[Any, dict[str, Any]]] = {}
    rejected: set[str] = set()
    for r, kind, data in said:
        entry_id = str(data["time_entry_id"])
        if kind == REJECTED:
            if r.status == "applied":
                rejected.add(entry_id)
            continue
        last[entry_id] = (r, data)
        if r.status == "applied":
            applied[entry_id] = (r, data)
    return [applied.get(k, v) for k, v in last.items()], rejected


def _data(raw: str) -> dict[str, Any] | None:
    """A raw approval's data, when it names its time entry and work date."""
    try:
        data = json.loads(raw)["data"]
        _ = str(data["time_entry_id"]), data["work_date"]
    except (ValueError, KeyError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def _card_increments(conn: Connection) -> dict[str, BillingIncrement]:
    """Billing increment of every rate card version, by its label ("STD-USD v2")."""
    return {f"{r.card_id} v{r.version}": BillingIncrement(r.increment_hours,
                                                          QuantityRounding(r.rounding))
            for r in conn.execute(select(rate_cards.c.card_id, rate_cards.c.version,
                                         rate_cards.c.increment_hours, rate_cards.c.rounding))}


def _item_time_id(key: str, origin: str | None) -> str | None:
    """The time entry an item bills: ``time:TE-1`` (or a split part with that origin)."""
    source = origin or key
    if not source.startswith("time:"):
        return None
    return source.split(":", 2)[1]


def hours_checks(conn: Connection, rec: Recon, period: str, entity: str | None) -> None:
    start, end = period_start(period), period_end(period)
    info = project_info(conn)
    tm = {code for code, p in info.items() if p.billing_type == "time_and_materials"}
    approved = [t for t in costed_time(conn, start, end) if t.project_code in tm]
    # (entity, "hours") -> [approved, costed] / [approved billable, billed]
    hours: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    billable: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    origin_col = billable_items.c.get("origin")
    cols = [billable_items.c.key, billable_items.c.contract_number, billable_items.c.quantity,
            billable_items.c.status, billable_items.c.service_date, billable_items.c.rate_card]
    increments = _card_increments(conn)
    if origin_col is not None:
        cols.append(origin_col)
    tm_contracts = {info[c].contract for c in tm}
    entity_of: dict[str, str] = {}  # contract -> its entity (the first project's, as before)
    for p in info.values():
        entity_of.setdefault(p.contract, p.entity)

    def time_items() -> dict[str, list[Any]]:
        # the period's items only: a time item (and each part split from it) carries its
        # entry's work date as its service date, so an entry of the period is billed by items
        # of the period, and the items of entries not approved are reported for its dates
        by_time: dict[str, list[Any]] = defaultdict(list)
        for it in conn.execute(select(*cols).where(
                (billable_items.c.source == "time")
                & (billable_items.c.service_date >= start.isoformat())
                & (billable_items.c.service_date <= end.isoformat())
                & billable_items.c.contract_number.in_(sorted(tm_contracts)))):
            if it.status in NOT_BILLABLE_ITEM_STATUSES:
                continue
            time_id = _item_time_id(it.key, getattr(it, "origin", None))
            if time_id:
                by_time[time_id].append(it)
        return dict(by_time)

    items_by_time = held(conn, ("time_items", start, end), time_items)  # every scope's
    seen: set[str] = set()
    for t in approved:
        ent = info[t.project_code].entity
        if entity and ent != entity:
            continue
        seen.add(t.time_entry_id)
        hours[(ent, "hours")][0] += t.hours
        if t.cost is not None:
            hours[(ent, "hours")][1] += t.hours
        else:
            rec.diff("approved = costed hours", "no_cost_rate", "time_entry", t.time_entry_id,
                     ent, "hours", t.hours, ZERO,
                     f"worker {t.worker_id} has no HR cost rate effective on {t.work_date}")
        items = items_by_time.get(t.time_entry_id, [])
        billed = sum((i.quantity for i in items), ZERO)
        # the hours to bill: worked hours after the pricing card's billing increment
        card = next((i.rate_card for i in items if i.rate_card), None)
        to_bill = round_quantity(t.hours, increments[card]) if card in increments else t.hours
        if not t.billable:
            if billed:
                rec.diff("approved billable = billable hours", "billed_non_billable_task",
                         "time_entry", t.time_entry_id, ent, "hours", ZERO, billed,
                         f"project {t.project_code}: the task is not billable")
            continue
        billable[(ent, "hours")][0] += to_bill
        billable[(ent, "hours")][1] += billed
        if billed != to_bill:
            cause = "not_billed" if not billed else "hours_differ"
            rec.diff("approved billable = billable hours", cause, "time_entry", t.time_entry_id,
                     ent, "hours", to_bill, billed,
                     f"project {t.project_code}, worked {t.work_date}: {t.hours} h"
                     + (f", billed by {card}" if card else ""))
    # items for time that is not approved (rejected after billing, or never arrived)
    for time_id, items in sorted(items_by_time.items()):
        if time_id in seen:
            continue
        in_period = [i for i in items if start.isoformat() <= i.service_date <= end.isoformat()]
        if not in_period:
            continue
        contract = in_period[0].contract_number
        ent = entity_of.get(contract, "")
        if entity and ent != entity:
            continue
        qty = sum((i.quantity for i in in_period), ZERO)
        billable[(ent, "hours")][1] += qty
        rec.diff("approved billable = billable hours", "billed_without_approved_time",
                 "time_entry", time_id, ent, "hours", ZERO, qty,
                 f"contract {contract}: item(s) {', '.join(i.key for i in in_period)}")
    rec.check("approved = costed hours", {k: (v[0], v[1]) for k, v in hours.items()},
              "T&M projects, approved time worked in the period", entity=entity)
    rec.check("approved billable = billable hours",
              {k: (v[0], v[1]) for k, v in billable.items()},
              "T&M projects: hours on billable tasks (after the pricing card's billing "
              "increment) vs hours on time billable items",
              entity=entity)


def labor_cost_vs_gl(conn: Connection, rec: Recon, period: str,
                      entries: Sequence[JournalEntry], charts: Mapping[str, ChartOfAccounts],
                      entity: str | None, rules: PostingRules = DEFAULT_RULES) -> None:
    """Labor cost the period must post vs labor cost posted in it, per worker entity and cost
    currency: the period's approved time at HR rates, plus the late changes of the months its
    close trues up (cost known now − cost posted for them before the period;
    ``services.ledger.labor_cost``). Differences by month; they sum to the gap."""
    check = "costed time = GL labor cost"
    as_charts_ = Charts(charts)
    known = known_cost(conn, period)
    posted = posted_cost(conn, as_charts_, rules, period)
    months = months_trued_up(conn, period, set(known), posted)
    months |= {k for k in known if k[2] == period}
    start = period_start(period).isoformat()
    before: dict[Key, Decimal] = defaultdict(Decimal)
    through: dict[Key, Decimal] = defaultdict(Decimal)
    for p in posted:
        through[p.key] += p.amount
        if p.posting_date < start:
            before[p.key] += p.amount
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for key in months:
        totals[key[:2]][0] += known.get(key, ZERO) - before[key]
    in_period = [e for e in entries if period_of(e.posting_date) == period]
    for unit, amount in gl_balance(in_period, charts, "labor_cost").items():
        totals[unit][1] = amount
    for key in sorted(months):
        ent, cur, month = key
        cost, booked = known.get(key, ZERO), through[key]
        if cost == booked or (entity and ent != entity):
            continue
        if month == period:
            cause = ("changed_after_close" if status_of(conn, ent, period).value != "open"
                     else "cost_not_posted" if cost > booked else "posted_over_cost")
            rec.diff(check, cause, "entity", ent, ent, cur, cost, booked,
                     f"approved time of {month} costed now vs its labor cost journals"
                     + (" (a later period posts the change)" if cause.startswith("changed")
                        else ""))
        else:
            rec.diff(check, "cost_not_posted" if cost > booked else "posted_over_cost",
                     "labor_cost", ":".join(key), ent, cur, cost, booked,
                     f"approved time of closed {month} costed now vs its labor cost journals "
                     f"to the end of {period} (its late change is posted in {period})")
    for (ent, cur), (_, actual) in sorted(totals.items()):
        attributed = sum((p.amount for p in posted if p.key[:2] == (ent, cur)
                          and p.key in months and p.posting_date >= start), ZERO)
        if actual != attributed and (not entity or ent == entity):
            rec.diff(check, "other_labor_cost_posting", "account", "labor_cost", ent, cur,
                     ZERO, actual - attributed,
                     "labor cost posted in the period by other journals")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "by the worker's entity and cost currency: the period's approved time at HR "
              "rates plus the late changes of closed months", entity=entity)
