"""The lean path of a set of approved time: the common case decided without its reference's
objects (the parsed command, the billable item and its `Money`, the decision), with what
repeats across a set — the work dates, the hours, the billed quantity and amount of an
hours figure at a rate — worked out once a set.

The common case: an approved entry with no dimensions, not recorded yet, of a provisioned
project that waits for no activation and is open on the day, by a synced worker not
terminated by then, on a task of the project's WBS, priced if billable (a time-and-materials
contract with a rate that day). Anything else — and anything the lean path is unsure of — is
left to `time.decide_time`, the reference, which decides it as before. Both give the same
rows and outcome for the common case (tests/property/test_time_lean.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from syncline.billing.items import ItemSource, ItemStatus, price
from syncline.billing.rates import (
    BillingIncrement,
    RateNotFound,
    ResolvedRate,
    billed_quantity,
)
from syncline.domain.model import BillingType
from syncline.services.handlers.common import Days
from syncline.services.messaging.outcomes import Applied
from syncline.services.messaging.unit_of_work import Batch

__all__ = ["LeanTime"]

_TIME_AND_MATERIALS = BillingType.TIME_AND_MATERIALS.value
_SOURCE, _GENERATED = ItemSource.TIME.value, ItemStatus.GENERATED.value
Rows = tuple[Applied, dict[str, Any], dict[str, Any] | None]


class LeanTime:
    """One set's lean decisions (its memos live as long as the set: rates do not change
    within one)."""

    __slots__ = ("_amounts", "_dates", "_hours", "_prices", "_quantities", "_rates", "b")

    def __init__(self, b: Batch) -> None:
        self.b = b
        self._dates = Days()
        self._hours: dict[str, Decimal | None] = {}  # None: outside what parse_time accepts
        # (contract id, role, work date) -> `Batch.price`'s answer (the set's books are fixed)
        self._prices: dict[tuple[str, str, str], ResolvedRate | RateNotFound] = {}
        self._rates: dict[int, tuple[ResolvedRate, str, str | None, Decimal, str]] = {}
        # (hours as sent, the increment's id) -> (the increment, the billed quantity)
        self._quantities: dict[tuple[str, int], tuple[BillingIncrement, Decimal]] = {}
        # (billed quantity, unit price, currency) -> amount: equal numbers, equal amounts
        self._amounts: dict[tuple[Decimal, Decimal, str], Decimal] = {}

    def decide(self, data: Mapping[str, Any], worker: Any | None, time_id: str) -> Rows | None:
        """The outcome, time row and item row (None: not billed) of an approved entry that
        is not recorded yet, in the common case; None for every other case (the reference
        decides it)."""
        raw_hours = data["hours"]
        if (data["approval_status"] != "approved" or type(raw_hours) is not str
                or worker is None or data.get("dimensions")):
            return None
        hours = self._hours.get(raw_hours, False)
        if hours is False:
            hours = self._hours[raw_hours] = _hours(raw_hours)
        if hours is None:
            return None
        b = self.b
        found = b.project(data["project_code"])
        if found is None:
            return None
        proj, tasks = found
        if b.ref.activation_required and proj.activated_at is None:
            return None
        raw_date = data["work_date"]
        day = self._dates[raw_date]
        on, work_date = day
        if (worker.termination_date and work_date > worker.termination_date) or (
                proj.closed_on and work_date > proj.closed_on):
            return None
        task = data["task_code"]
        if task not in tasks:
            return None
        entry, role = data["time_entry_id"], data["role"]
        billable = bool(data.get("billable", True)) and tasks[task]
        item = None
        if billable and proj.billing_type == _TIME_AND_MATERIALS:
            key = (proj.contract_id, role, raw_date)
            rate = self._prices.get(key)
            if rate is None:
                book = b.rates(proj.contract_id, proj.currency, proj.number, proj.customer_key)
                rate = self._prices[key] = b.price(proj.contract_id, book, role, on)
            if isinstance(rate, RateNotFound):
                return None
            item = self._item(rate, raw_hours, hours, entry, proj.number, work_date, role)
        return Applied(provides=(f"time:{entry}",)), {
            "id": time_id, "time_entry_id": entry, "worker_id": data["worker_id"],
            "project_code": data["project_code"], "task_code": task, "work_date": work_date,
            "hours": hours, "role": role, "billable": billable, "status": "approved",
            "inbox_id": b.inbox_id}, item

    def _item(self, rate: ResolvedRate, raw_hours: str, hours: Decimal, entry: Any,
              number: str, work_date: str, role: str) -> dict[str, Any]:
        """`common.item_row(billable.items.time_item(…))` of the entry, as decide_time makes
        it: the billed quantity and amount of these hours at this rate made once a set."""
        key = id(rate)  # (the rate is held in the memo's value: its id is not reused)
        known = self._rates.get(key)
        if known is None or known[0] is not rate:
            money = rate.rate
            known = self._rates[key] = (rate, rate.entry.scope.name.lower(),
                                        rate.card.label or None, money.amount, money.currency)
        increment = rate.card.increment  # (billed_quantity's; held like the rate)
        counted = self._quantities.get((raw_hours, id(increment)))
        if counted is None or counted[0] is not increment:
            counted = self._quantities[(raw_hours, id(increment))] = (
                increment, billed_quantity(hours, rate))
        quantity = counted[1]
        _, scope, card, unit_price, currency = known
        shared = quantity and unit_price  # (a zero is signed: zeros are not shared)
        amount = self._amounts.get((quantity, unit_price, currency)) if shared else None
        if amount is None:
            amount = price(quantity, rate.rate).amount
            if shared:
                self._amounts[(quantity, unit_price, currency)] = amount
        return {"key": f"time:{entry}", "contract_number": number, "source": _SOURCE,
                "service_date": work_date, "description": f"{role} time {work_date}",
                "quantity": quantity, "unit_price": unit_price, "currency": currency,
                "amount": amount, "rate_scope": scope, "rate_card": card,
                "role": role or None, "status": _GENERATED, "invoice_number": None}


def _hours(raw: str) -> Decimal | None:
    """``parse_time``'s hours, or None when it would refuse them."""
    hours = Decimal(raw)
    if hours <= 0 or hours > 24 or hours.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return hours
