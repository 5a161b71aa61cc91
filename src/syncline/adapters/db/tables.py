"""Tables. Money and quantities are stored as exact decimal text (never floats)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from syncline.adapters.db.base import NAMING, Dec, _id, metadata

# --- processing model ------------------------------------------------------------------------
inbox = Table(
    "inbox", metadata,
    _id(),
    Column("seq", BigInteger, nullable=False, unique=True),  # arrival order
    Column("source", String(200), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("type", String(100)),
    Column("subject", String(200)),
    Column("sequence", BigInteger),
    Column("event_time", String(40)),
    Column("correlation_id", String(200)),
    Column("raw", Text, nullable=False),
    Column("status", String(20), nullable=False),  # received|applied|parked|failed|rejected|stale
    Column("reason", Text),
    Column("received_at", String(40), nullable=False),
    Column("applied_at", String(40)),
    UniqueConstraint("source", "event_id", name="uq_inbox_source_event_id"),
)
Index("ix_inbox_status_seq", inbox.c.status, inbox.c.seq)
# the messages received in a month (the straight-through KPI): arrival times grow, so each
# message's entry is appended at the index's end (migration 0027)
Index("ix_inbox_received_at", inbox.c.received_at)
# the KPIs' deal and amendment messages, only they (partial: no entry for any other type;
# migration 0030): a deal's close looked up by its subject, the amendments received by a date
Index("ix_inbox_deal_closed", inbox.c.subject, inbox.c.seq,
      sqlite_where=text("type = 'deal.closed_won'"),
      postgresql_where=text("type = 'deal.closed_won'"))
Index("ix_inbox_amendments", inbox.c.received_at,
      sqlite_where=text("type = 'contract.amended'"),
      postgresql_where=text("type = 'contract.amended'"))

inbox_receipts = Table(
    "inbox_receipts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("inbox_id", String(40), nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("duplicate", Boolean, nullable=False),
)
# a message's deliveries (its status and outcome count them): without it each look-up read
# every receipt of the history (migration 0027)
Index("ix_inbox_receipts_inbox_id", inbox_receipts.c.inbox_id)

inbox_revisions = Table(
    "inbox_revisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("inbox_id", String(40), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("raw", Text, nullable=False),  # the message as it was before this edit
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", String(40), nullable=False),
    UniqueConstraint("inbox_id", "revision", name="uq_inbox_revisions_inbox_id_revision"),
)

subject_state = Table(
    "subject_state", metadata,
    Column("subject", String(200), primary_key=True),
    Column("last_sequence", BigInteger, nullable=False),
    Column("inbox_id", String(40), nullable=False),
)

parked = Table(
    "parked", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("inbox_id", String(40), nullable=False, index=True),
    Column("prerequisite", String(200), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("parked_at", String(40), nullable=False),  # event time of the message
    Column("released_at", String(40)),
    Column("exception_id", String(40)),
)

exceptions = Table(
    "exceptions", metadata,
    _id(),
    Column("code", String(100), nullable=False),
    Column("domain", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("message", Text, nullable=False),
    Column("remediation", Text, nullable=False),
    Column("field", String(200)),
    Column("objects", Text, nullable=False),  # JSON [[kind, id], ...]
    Column("correlation_id", String(200)),
    Column("inbox_id", String(40), index=True),
    Column("outbox_id", String(40)),
    Column("status", String(20), nullable=False),  # open|resolved|skipped
    Column("created_at", String(40), nullable=False),
    Column("resolved_at", String(40)),
    Column("resolution", Text),
    # the person working on it (a principal's name; migration 0019), and since when
    Column("assigned_to", String(200), index=True),
    Column("assigned_at", String(40)),
)

exception_actions = Table(
    "exception_actions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("exception_id", String(40), nullable=False, index=True),
    Column("action", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text),
    Column("at", String(40), nullable=False),
)

outbox = Table(
    "outbox", metadata,
    _id(),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("kind", String(100), nullable=False),  # erp.customer.upsert, psa.project.provision …
    Column("target", String(40), nullable=False),  # erp | psa
    Column("group_key", String(200)),  # steps delivered together (a provisioning saga)
    Column("payload", Text, nullable=False),
    Column("correlation_id", String(200)),
    Column("status", String(20), nullable=False),  # pending|delivered|failed|compensated
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", String(40), nullable=False),
    Column("delivered_at", String(40)),
    Column("last_error", Text),
    Column("reference", String(200)),  # the target's id of what it received (migration 0016)
)
Index("ix_outbox_status_seq", outbox.c.status, outbox.c.seq)

xref = Table(
    "xref", metadata,
    Column("system", String(40), primary_key=True),
    Column("object_type", String(40), primary_key=True),
    Column("external_id", String(200), primary_key=True),
    Column("syncline_id", String(40), nullable=False, index=True),
)

# --- canonical business state: its own module, imported here so the metadata keeps its order
from syncline.adapters.db.business_tables import (  # noqa: E402
    billable_items,
    contract_lines,
    contract_rates,
    contracts,
    customers,
    invoice_lines,
    invoices,
    journal_entries,
    journal_lines,
    milestones,
    projects,
    time_entries,
    wbs_tasks,
    worker_versions,
    workers,
)

__all__ = [
    "NAMING",
    "Dec",
    "billable_items",
    "contract_lines",
    "contract_rates",
    "contracts",
    "customers",
    "exception_actions",
    "exceptions",
    "inbox",
    "inbox_receipts",
    "inbox_revisions",
    "invoice_lines",
    "invoices",
    "journal_entries",
    "journal_lines",
    "metadata",
    "milestones",
    "outbox",
    "parked",
    "projects",
    "subject_state",
    "time_entries",
    "wbs_tasks",
    "worker_versions",
    "workers",
    "xref",
]


def _load_engine_tables() -> None:
    """Every engine keeps its tables in its own module, on this metadata."""
    import importlib

    for name in ("billing_tables", "revenue_tables", "ledger_tables", "governance_tables",
                 "connector_tables", "masterdata_tables", "workforce_tables",
                 "close_tables"):
        importlib.import_module(f"syncline.adapters.db.{name}")


_load_engine_tables()
