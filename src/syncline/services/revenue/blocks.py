"""Revenue of a prepaid block of hours (``billing_terms.retainer.kind = prepaid_block``).

The retainer line's amount is the block's *price*, billed once up front (deferred), not a
monthly fee. The block is recognised as its hours are drawn (the customer's right to the
hours is exercised as they are worked, ASC 606-10-55-46 to 55-49 / IFRS 15.B44-B47):

- **drawn**: cumulative block revenue at a day = round_half_up(price × hours drawn / block
  hours), the price and hours being those in force that day (the block plus every
  ``top_up_block`` effective on or before it), so it never exceeds the price;
- the hours drawn are billing's own drawdown: the ``retainer drawdown`` (covered) items that
  still bill, by service date, then approved time no run has drawn yet, in service order
  against the hours left;
- a top-up adds its hours and its price from its effective date: the day's cumulative is
  re-measured with both (a catch-up on that day when the top-up's hourly price differs);
- **breakage** (policy ``at_expiry``, the only one offered): the block's unused part is
  recognised on the term's last day (as amended) — cumulative becomes the whole price;
- overage (beyond the block, at the overage rate) is the right to invoice, as the items bill.

The amounts are right-to-invoice actuals of the retainer line (variable consideration
allocated entirely to it), so the balance is revenue − net billed like any other line.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import contract_billing_terms
from syncline.adapters.db.tables import billable_items, projects, time_entries
from syncline.billing.amendments import amendment_changes, block_top_ups
from syncline.ledger.money import quantum
from syncline.revenue.model import Actual, ActualKind
from syncline.services.revenue.billable import COUNTED

PREPAID_BLOCK = "prepaid_block"
BREAKAGE_AT_EXPIRY = "at_expiry"


def is_block(conn: Connection, number: str) -> tuple[Decimal, Any] | None:
    """The block's hours and the stored terms when the contract's retainer is a block."""
    return block_of(conn.execute(select(contract_billing_terms).where(
        contract_billing_terms.c.contract_number == number)).first())


def block_of(terms: Any | None) -> tuple[Decimal, Any] | None:
    """`is_block` of the contract's stored billing terms (None: it has none), read."""
    if terms is None or terms.retainer_kind != PREPAID_BLOCK:
        return None
    return terms.included_hours or Decimal(0), terms


def _drawn(conn: Connection, number: str, contract_id: str,
           available: list[tuple[date, Decimal]]) -> dict[date, Decimal]:
    """Hours drawn from the block by service date (see the module doc)."""
    drawn: dict[date, Decimal] = defaultdict(Decimal)
    seen: set[str] = set()
    for r in conn.execute(select(billable_items.c.key, billable_items.c.origin,
                                 billable_items.c.service_date, billable_items.c.quantity,
                                 billable_items.c.rate_scope, billable_items.c.status)
                          .where((billable_items.c.contract_number == number)
                                 & (billable_items.c.source == "time"))):
        seen.add((r.origin or r.key).split("#")[0].split("@")[0])
        if r.rate_scope == "retainer drawdown" and r.status in COUNTED:
            drawn[date.fromisoformat(r.service_date)] += r.quantity
    used = sum(drawn.values(), Decimal(0))
    for t in conn.execute(
            select(time_entries.c.time_entry_id, time_entries.c.work_date,
                   time_entries.c.hours)
            .join(projects, projects.c.code == time_entries.c.project_code)
            .where((projects.c.contract_id == contract_id)
                   & (time_entries.c.status == "approved") & time_entries.c.billable.is_(True))
            .order_by(time_entries.c.work_date, time_entries.c.time_entry_id)):
        if f"time:{t.time_entry_id}" in seen:
            continue
        day = date.fromisoformat(t.work_date)
        room = max(sum((h for on, h in available if on <= day), Decimal(0)) - used, Decimal(0))
        take = min(t.hours, room)
        if take > 0:
            drawn[day] += take
            used += take
    return drawn


def block_actuals(conn: Connection, number: str, contract_id: str, line_id: str,
                  price: Decimal, currency: str, end: date, amendments: Sequence[Any],
                  hours: Decimal) -> list[Actual]:
    """The block's revenue as right-to-invoice amounts of ``line_id``, by the module's rule:
    each day the cumulative changes (hours drawn, a top-up, the expiry) the difference."""
    changes = [c for a in amendments for c in amendment_changes(
        a.amendment_id, date.fromisoformat(a.effective_date),
        json.loads(a.payload).get("changes") or ())]
    grants = [(date.min, hours, price)] + [
        (t.effective, t.hours or Decimal(0), t.amount or Decimal(0))
        for t in block_top_ups(changes)]
    drawn = _drawn(conn, number, contract_id, [(on, h) for on, h, _ in grants])
    days = sorted({*drawn, *(on for on, _, _ in grants if on != date.min), end})
    unit = quantum(currency)
    out: list[Actual] = []
    cumulative = Decimal(0)
    used = Decimal(0)
    for day in days:
        used += drawn.get(day, Decimal(0))
        in_force = [(h, p) for on, h, p in grants if on <= day]
        total_hours = sum((h for h, _ in in_force), Decimal(0))
        total_price = sum((p for _, p in in_force), Decimal(0))
        if day >= end or total_hours <= 0:
            target = total_price if day >= end else Decimal(0)
        else:
            target = min(total_price, (total_price * min(used, total_hours) / total_hours)
                         .quantize(unit, rounding=ROUND_HALF_UP))
        if target != cumulative:
            out.append(Actual(line_id, ActualKind.BILLABLE, day, target - cumulative,
                              ref="block"))
            cumulative = target
        if day >= end:
            break
    return out
