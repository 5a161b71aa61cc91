"""Reversing what was billed: open items are reversed, invoiced ones get a credit request.

One mechanism for every source that can be withdrawn after approval (time rejected, time
after a late termination, expense rejected). The next invoice run of the entity turns pending
requests into credit notes that name the exact items (see billing_run).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import credit_requests
from syncline.adapters.db.tables import billable_items
from syncline.billing.items import ItemStatus
from syncline.services.clock import iso
from syncline.services.messaging.bulk import driver, update_rows


def request_credit(conn: Connection, *, invoice_number: str, keys: Sequence[str], reason: str,
                   now: datetime, corrected_hours: Decimal | None = None,
                   request_key: str | None = None, inbox_id: str | None = None) -> bool:
    """Ask the next invoice run to credit ``keys`` (items or their origins) on an invoice.

    Idempotent on ``request_key`` (default: invoice + keys + corrected hours); False when the
    same request was already made.
    """
    key = request_key or (f"{invoice_number}:{','.join(sorted(keys))}"
                          + (f"@{corrected_hours}" if corrected_hours is not None else ""))
    if conn.execute(select(credit_requests.c.id).where(
            credit_requests.c.request_key == key)).first():
        return False
    revision = 2 + len(conn.execute(select(credit_requests.c.id).where(
        credit_requests.c.corrected_hours.is_not(None)
        & (credit_requests.c.item_keys == json.dumps(sorted(keys))))).all())
    conn.execute(credit_requests.insert().values(
        request_key=key, invoice_number=invoice_number, item_keys=json.dumps(sorted(keys)),
        reason=reason, corrected_hours=corrected_hours, revision=revision, status="pending",
        inbox_id=inbox_id, requested_at=iso(now)))
    return True


# A reversal each: straight through the driver (bulk.driver, bulk.update_rows)
_PARTS = (f"SELECT key, status, invoice_number FROM {billable_items.name} "
          "WHERE key = ? OR origin = ?")


def reverse_origin(conn: Connection, origin: str, reason: str, *, now: datetime,
                   inbox_id: str | None = None) -> list[str]:
    """Reverse the open items of a source record (``time:TE-1``, ``expense:EX-1``); returns
    the invoices holding its billed items, for each of which a credit request is made."""
    parts = driver(conn, _PARTS, (origin, origin)).all()
    open_keys = [p.key for p in parts if p.status in (ItemStatus.GENERATED.value,
                                                      ItemStatus.RELEASED.value)]
    if open_keys:
        update_rows(conn, billable_items.name, "key", (), [(k,) for k in open_keys],
                    constants=f"status = '{ItemStatus.REVERSED.value}'")
    invoiced = sorted({str(p.invoice_number) for p in parts
                       if p.status == ItemStatus.INVOICED.value and p.invoice_number})
    for number in invoiced:
        request_credit(conn, invoice_number=number, keys=[origin], reason=reason, now=now,
                       request_key=f"reverse:{origin}:{number}", inbox_id=inbox_id)
    return invoiced
