"""Manual billing adjustments: ``billing.adjustment.requested`` becomes an adjustment item.

An adjustment arrives like every other input — a message stored raw in the inbox (from the
API's ``POST /v1/events`` or ``syncline billing adjust``) — so who asked, why, and what was
asked stay inspectable. It becomes one billable item of source ``adjustment`` on the
contract, in the contract's currency, billed as its own line on the contract's next invoice
(a negative amount reduces the invoice). Items it names in ``adjusts`` must be open items of
the same contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import billable_items, contracts
from syncline.billing.items import OPEN_STATUSES, adjustment_item
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.ledger.money import Money
from syncline.services.billing.run.items import item_row
from syncline.services.governance import approvals
from syncline.services.messaging.inbox import RESERVED_SOURCE
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch


def _refused(code: str, message: str, remediation: str, field: str,
             objects: tuple[tuple[str, str], ...]) -> Failed:
    return Failed((Problem(code, BusinessDomain.BILLING, message, remediation, field,
                           objects=objects),))


def record_adjustment(b: Batch, data: Mapping[str, Any]) -> Outcome:
    adjustment_id, number = str(data["adjustment_id"]), str(data["contract_number"])
    key = f"adjustment:{adjustment_id}"
    objects = (("adjustment", adjustment_id), ("contract", number))
    if b.conn.execute(select(billable_items.c.key).where(billable_items.c.key == key)).first():
        return Applied(note="adjustment already recorded (idempotent)")
    if not b.source.startswith(RESERVED_SOURCE):
        return _to_approval(b, data, adjustment_id, number)
    contract = b.conn.execute(select(contracts.c.currency).where(
        contracts.c.number == number)).first()
    if contract is None:
        return Parked(Missing(f"contract:{number}", f"contract {number} is not known yet"))
    amount = Money(Decimal(data["amount"]["amount"]), data["amount"]["currency"])
    if amount.currency != contract.currency:
        return _refused(
            "billing.adjustment_currency", f"adjustment {adjustment_id} is in "
            f"{amount.currency}; contract {number} bills in {contract.currency}",
            f"Re-request the adjustment in {contract.currency}.", "data.amount.currency",
            objects)
    if amount.rounded().is_zero:
        return _refused("billing.adjustment_zero",
                        f"adjustment {adjustment_id} rounds to zero {amount.currency}",
                        "Request a non-zero amount, or nothing.", "data.amount.amount",
                        objects)
    adjusts = tuple(str(k) for k in data.get("adjusts", ()))
    if adjusts:
        found = {r.key: r for r in b.conn.execute(select(
            billable_items.c.key, billable_items.c.contract_number, billable_items.c.status)
            .where(billable_items.c.key.in_(adjusts)))}
        wrong = [k for k in adjusts if k not in found or found[k].contract_number != number
                 or found[k].status not in {s.value for s in OPEN_STATUSES}]
        if wrong:
            return _refused(
                "billing.adjustment_items", f"adjustment {adjustment_id} names item(s) "
                f"{', '.join(sorted(wrong))} that are not open items of contract {number}",
                "Name open (not yet invoiced) items of the contract, or none; an invoiced item "
                "is corrected by a credit note.", "data.adjusts", objects)
    item = adjustment_item(adjustment_id, number, date.fromisoformat(data["service_date"]),
                           str(data["description"]), amount, adjusts=adjusts)
    row = item_row(item)
    row["rate_scope"] = f"manual: {data['requested_by']}"
    b.conn.execute(billable_items.insert().values(**row))
    return Applied(note=f"adjustment item {key} by {data['requested_by']}: {data['reason']}")


def _to_approval(b: Batch, data: Mapping[str, Any], adjustment_id: str,
                 number: str) -> Outcome:
    """An adjustment sent from outside (an integration's event, a file, the broker) is a
    *request*: it waits for a finance or controller principal's approval (separation of
    duties, docs/governance.md) and is carried out only then, as Syncline's own message
    (source ``syncline/…``, which no outside sender may use). Whatever its amount: the
    sender is a system, not a person who could be the checker's maker."""
    subject = f"contract/{number}"
    amount = data["amount"]
    payload = {"contract": number, "amount": str(amount["amount"]),
               "description": str(data["description"]), "reason": str(data["reason"]),
               "currency": str(amount["currency"]), "on": data.get("service_date"),
               "adjusts": [str(k) for k in data.get("adjusts", ())],
               "adjustment_id": adjustment_id}
    made = approvals.create(
        b.conn, kind="adjustment", subject=subject, amount=Decimal(str(amount["amount"])),
        currency=str(amount["currency"]), payload=payload, reason=str(data["reason"]),
        by=f"{b.source} ({data['requested_by']})", now=b.now)
    return Applied(note=f"adjustment {adjustment_id} from {b.source} awaits approval {made.id} "
                   "(`syncline billing approve`)")
