"""Posting journal entries into the embedded ledger: once per source, balanced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import journal_entries, journal_lines
from syncline.ledger.journal import JournalEntry
from syncline.services.clock import iso
from syncline.services.ids import new_id


def post_entry(conn: Connection, entry: JournalEntry, now: datetime) -> bool:
    """Store a balanced entry once (unique on its source); False when it already exists."""
    if conn.execute(select(journal_entries.c.id).where(
            (journal_entries.c.source_type == entry.source_type)
            & (journal_entries.c.source_id == entry.source_id))).first():
        return False
    entry_id = new_id("jnl")
    conn.execute(journal_entries.insert().values(
        id=entry_id, entity_code=entry.entity_id, posting_date=entry.posting_date.isoformat(),
        description=entry.description, source_type=entry.source_type,
        source_id=entry.source_id, reverses=entry.reverses, posted_at=iso(now)))
    conn.execute(journal_lines.insert(), [
        {"entry_id": entry_id, "line_no": i, "account": ln.account, "side": ln.side.value,
         "amount": ln.amount.amount, "currency": ln.amount.currency, "memo": ln.memo}
        for i, ln in enumerate(entry.lines, 1)])
    return True
