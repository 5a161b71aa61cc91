"""What a billing team asks for by hand: releasing a held item, a manual adjustment.

- ``release_held_item``: an amount held at a hard cap is approved; its item moves
  generated → released (the lifecycle's "cleared for invoicing past a control"), and the
  next run invoices it. Who and when are kept on the hold.
- ``request_adjustment``: a manual adjustment enters like any other input — a
  ``billing.adjustment.requested`` message, stored raw in the inbox, validated, applied by
  its handler (services/handlers/adjustments.py) — and the outcome is read back.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, select, update

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.tables import billable_items, contracts, exceptions, inbox
from syncline.billing.items import ItemStatus
from syncline.services.clock import Clock, iso
from syncline.services.ids import new_id
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.outcomes import Stats


class _System(Protocol):
    engine: Engine
    clock: Clock

    def process(self, progress: Any = None) -> Stats: ...


def release_held_item(conn: Connection, item_key: str, *, by: str, now: datetime) -> bool:
    """Approve a held amount and release its item; False when no such hold is held."""
    done = conn.execute(update(billing_holds).where(
        (billing_holds.c.item_key == item_key) & (billing_holds.c.status == "held"))
        .values(status="approved", approved_by=by, approved_at=iso(now)))
    if not done.rowcount:
        return False
    conn.execute(update(billable_items).where(
        (billable_items.c.key == item_key)
        & (billable_items.c.status == ItemStatus.GENERATED.value))
        .values(status=ItemStatus.RELEASED.value))
    return True


def request_adjustment(system: _System, *, contract: str, amount: str, description: str,
                       reason: str, by: str, currency: str | None = None,
                       on: str | None = None, adjusts: list[str] | None = None,
                       adjustment_id: str | None = None) -> dict[str, Any]:
    """Send one ``billing.adjustment.requested`` message and apply it; returns
    ``{status: applied|rejected|failed|parked, adjustment_id, item, problems}``."""
    adjustment_id = adjustment_id or new_id("adj")
    problems: list[str] = []
    try:
        Decimal(amount)
    except InvalidOperation:
        problems.append(f"amount must be a decimal number, got {amount!r}")
    with system.engine.connect() as conn:
        row = conn.execute(select(contracts.c.currency).where(
            contracts.c.number == contract)).first()
    if currency is None:
        if row is None:
            problems.append(f"contract {contract} is not known (give --currency to send the "
                            "request anyway: it waits for the contract)")
        currency = row.currency if row is not None else ""
    if problems:
        return {"status": "rejected", "adjustment_id": adjustment_id, "item": None,
                "problems": problems}
    now = system.clock()
    message = {
        "specversion": "1.0", "id": adjustment_id, "source": "syncline/billing-team",
        "type": "billing.adjustment.requested", "subject": f"adjustment/{adjustment_id}",
        "time": iso(now), "datacontenttype": "application/json",
        "correlationid": f"contract/{contract}",
        "data": {"adjustment_id": adjustment_id, "contract_number": contract,
                 "service_date": on or now.date().isoformat(),
                 "description": description, "amount": {"amount": amount, "currency": currency},
                 "adjusts": list(adjusts or []), "requested_by": by, "reason": reason},
    }
    with system.engine.begin() as conn:
        (receipt,) = receive_many(conn, [message], now=now, trusted=True)
    if receipt.status == "rejected":
        return {"status": "rejected", "adjustment_id": adjustment_id, "item": None,
                "problems": [f"{p.path}: {p.message}" for p in receipt.problems]}
    system.process()
    with system.engine.connect() as conn:
        status = conn.execute(select(inbox.c.status).where(
            inbox.c.id == receipt.inbox_id)).scalar_one()
        raised = [r.message for r in conn.execute(select(exceptions.c.message).where(
            exceptions.c.inbox_id == receipt.inbox_id))] if status == "failed" else []
    return {"status": status, "adjustment_id": adjustment_id,
            "item": f"adjustment:{adjustment_id}" if status == "applied" else None,
            "problems": raised or ([f"waiting: {status}"] if status != "applied" else [])}
