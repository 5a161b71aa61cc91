"""Tables of the connectors, on the shared metadata (see tables.py; migration 0014).

- ``connector_cursors``: one incremental position per (connector, stream), written in the
  same transaction as the records it covers; with the last run's counts and error.
- ``sandbox_received``: what the in-process sandbox targets (the demo's ERP, PSA and CRM)
  received, once per idempotency key.
- ``connector_webhooks``: every webhook delivery as received (headers and raw body), whether
  accepted or refused, with the reason: a bad signature is kept, never processed.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from syncline.adapters.db.tables import metadata

connector_cursors = Table(
    "connector_cursors", metadata,
    Column("connector", String(40), primary_key=True),
    Column("stream", String(60), primary_key=True),
    Column("value", Text),
    Column("updated_at", String(40), nullable=False),
    Column("last_run_at", String(40)),
    Column("last_status", String(20)),  # ok | failed | reset
    Column("last_error", Text),
    Column("records_total", Integer, nullable=False, default=0),
)

connector_webhooks = Table(
    "connector_webhooks", metadata,
    Column("id", String(40), primary_key=True),
    Column("connector", String(40), nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("status", String(20), nullable=False),  # accepted | refused
    Column("reason", Text),
    Column("headers", Text, nullable=False),  # JSON, secrets-bearing headers dropped
    Column("body", Text, nullable=False),  # the raw body (bytes decoded as latin-1 if not UTF-8)
    Column("events", Integer, nullable=False, default=0),
)
Index("ix_connector_webhooks_connector", connector_webhooks.c.connector,
      connector_webhooks.c.received_at)

# Journal entries already summarized to the ERP (services/ledger/erp_journals.py): each
# entry once, with the summary that carried it (migration 0016).
erp_journal_links = Table(
    "erp_journal_links", metadata,
    Column("entry_id", String(40), primary_key=True),
    Column("summary", String(200), nullable=False, index=True),
)

sandbox_received = Table(
    "sandbox_received", metadata,
    Column("target", String(40), primary_key=True),
    Column("idempotency_key", String(100), primary_key=True),
    Column("kind", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("deliveries", Integer, nullable=False),
)
