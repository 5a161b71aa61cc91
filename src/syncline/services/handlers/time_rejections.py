"""time.rejected as a set: what `time.reverse_time` decides message by message, in order,
with the set's reads done once (the entries' statuses, their billable items, the failed
approvals and the open exceptions on approvals) and its writes in one statement each (the
PSA's words, the entries reversed, the open items reversed).

Within a set the messages see each other as they would one at a time: a second rejection of
an entry finds it reversed, and the exceptions the first resolved are no longer open. Nothing
else in the set changes what these reads return (a rejection never fails an approval nor
raises an exception), so reading them once is reading them before each message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncline.adapters.db.tables import billable_items, time_entries
from syncline.billing.items import ItemStatus
from syncline.domain.errors import Missing
from syncline.domain.parsing import parse_time_rejection
from syncline.services.billing.reversal import request_credit
from syncline.services.handlers.time_words import REJECTED, record_words
from syncline.services.handlers.withdrawals import (
    open_refusals,
    refusals_by_entry,
    resolve_exceptions,
)
from syncline.services.messaging.bulk import select_in, update_rows
from syncline.services.messaging.outcomes import Applied, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch

__all__ = ["reverse_time_set"]

_STATUSES_SQL = (f"SELECT time_entry_id, status FROM {time_entries.name} "
                 "WHERE time_entry_id IN ({})")
_PARTS = f"SELECT key, status, invoice_number, origin FROM {billable_items.name} WHERE "
_PARTS_BY_KEY_SQL = _PARTS + "key IN ({})"
_PARTS_BY_ORIGIN_SQL = _PARTS + "origin IN ({})"  # (the partial origin index: 0018)
_OPEN = (ItemStatus.GENERATED.value, ItemStatus.RELEASED.value)
_INVOICED = ItemStatus.INVOICED.value


def reverse_time_set(b: Batch, messages: list[tuple[str, Mapping[str, Any]]]) -> list[Outcome]:
    """Rejected time as a set: the outcomes `reverse_time` gives one message at a time."""
    conn = b.conn
    record_words(conn, REJECTED, messages)  # the PSA's word, for the close
    commands = [parse_time_rejection(data) for _, data in messages]
    statuses: dict[str, str] = dict(select_in(conn, _STATUSES_SQL, sorted(
        {c.time_entry_id for c in commands})))
    origins = sorted({f"time:{e}" for e, s in statuses.items() if s != "reversed"})
    parts: dict[str, dict[str, Any]] = {}  # origin -> {item key: invoice number}
    items: dict[str, str] = {}  # item key -> its status (as the set changes it)
    for sql, by_origin in ((_PARTS_BY_KEY_SQL, False), (_PARTS_BY_ORIGIN_SQL, True)):
        for key, status, invoice, origin in select_in(conn, sql, origins):
            items[key] = status
            parts.setdefault(origin if by_origin else key, {})[key] = invoice
    refused: dict[str, list[str]] | None = None  # read when an entry is not recorded
    opened: dict[str, list[str]] | None = None  # read when one has something to resolve
    reversed_entries: list[tuple[str]] = []
    reversed_items: list[tuple[str]] = []
    outcomes: list[Outcome] = []
    for (inbox_id, _), cmd in zip(messages, commands, strict=True):
        b.inbox_id = inbox_id
        entry, status = cmd.time_entry_id, statuses.get(cmd.time_entry_id)
        if status is None:
            if refused is None:
                refused = refusals_by_entry(b)
            if not refused.get(entry):
                outcomes.append(Parked(Missing(
                    f"time:{entry}", f"time entry {entry} has not been approved here yet")))
                continue
        if opened is None:
            opened = open_refusals(b)
        done = resolve_exceptions(b, entry, opened.pop(entry, []), cmd.reason)
        if status is None:  # withdrawals.py
            outcomes.append(Applied(note="withdrawn by the PSA; refused on arrival"
                                    + (f", resolved {', '.join(done)}" if done else "")))
            continue
        if status == "reversed":
            outcomes.append(Applied(note="already reversed"))
            continue
        statuses[entry] = "reversed"
        reversed_entries.append((entry,))
        origin = f"time:{entry}"
        found = parts.get(origin, {})
        invoiced = sorted({str(found[k]) for k in found
                           if items[k] == _INVOICED and found[k]})
        for key in found:
            if items[key] in _OPEN:
                items[key] = ItemStatus.REVERSED.value
                reversed_items.append((key,))
        reason = f"time entry {entry} rejected: {cmd.reason}"
        for number in invoiced:  # (common.reverse_entry, billing/reversal.reverse_origin)
            request_credit(conn, invoice_number=number, keys=[origin], reason=reason,
                           now=b.now, request_key=f"reverse:{origin}:{number}",
                           inbox_id=inbox_id)
        outcomes.append(Applied(note=f"credit requested on {', '.join(invoiced)}"
                                if invoiced else ""))
    update_rows(conn, time_entries.name, "time_entry_id", (), reversed_entries,
                constants="status = 'reversed'")
    update_rows(conn, billable_items.name, "key", (), reversed_items,
                constants=f"status = '{ItemStatus.REVERSED.value}'")
    return outcomes
