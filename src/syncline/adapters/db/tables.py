"""Tables. Money and quantities are stored as exact decimal text (never floats)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class Dec(TypeDecorator[Decimal]):
    """A Decimal kept as its exact text, so SQLite never turns money into a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("floats are never stored as amounts")
        return str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def _id() -> Column[str]:
    return Column("id", String(40), primary_key=True)


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

inbox_receipts = Table(
    "inbox_receipts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("inbox_id", String(40), nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("duplicate", Boolean, nullable=False),
)

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

# --- canonical business state ---------------------------------------------------------------
customers = Table(
    "customers", metadata,
    _id(),
    Column("external_id", String(200), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("country", String(2)),
)

contracts = Table(
    "contracts", metadata,
    _id(),
    Column("number", String(100), nullable=False, unique=True),
    Column("deal_id", String(200), nullable=False, unique=True),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("entity_code", String(20), nullable=False),
    Column("tax_profile", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("start_date", String(10), nullable=False),
    Column("end_date", String(10), nullable=False),
    Column("billing_type", String(30), nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("service_line", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("correlation_id", String(200)),
)

contract_lines = Table(
    "contract_lines", metadata,
    Column("contract_id", String(40), ForeignKey("contracts.id"), primary_key=True),
    Column("line_id", String(100), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("description", Text, nullable=False),
    Column("amount", Dec),
    Column("estimated_hours", Dec),
    Column("estimated_cost", Dec),  # fixed fee: progress by cost-to-cost (migration 0004)
)

contract_rates = Table(
    "contract_rates", metadata,
    Column("contract_id", String(40), ForeignKey("contracts.id"), primary_key=True),
    Column("role", String(100), primary_key=True),
    Column("rate", Dec, nullable=False),
    Column("currency", String(3), nullable=False),
)

milestones = Table(
    "milestones", metadata,
    _id(),
    Column("milestone_id", String(200), nullable=False, unique=True),
    Column("contract_id", String(40), ForeignKey("contracts.id"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("amount", Dec, nullable=False),
    Column("due_date", String(10)),
    Column("completed_on", String(10)),
    Column("accepted_by", String(200)),
    # the acceptance evidence as received (JSON: accepted_by, documents; migration 0019)
    Column("evidence", Text),
)

projects = Table(
    "projects", metadata,
    _id(),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("contract_id", String(40), ForeignKey("contracts.id"), nullable=False),
    Column("template", String(40), nullable=False),
    Column("status", String(20), nullable=False),  # provisioning | active (delivery)
    # project.closed (migration 0008): no time worked after closed_on is billed
    Column("closed_on", String(10)),
    Column("close_reason", Text),
)

wbs_tasks = Table(
    "wbs_tasks", metadata,
    Column("project_id", String(40), ForeignKey("projects.id"), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("billable", Boolean, nullable=False),
)

workers = Table(
    "workers", metadata,
    _id(),
    Column("worker_id", String(200), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("role", String(100), nullable=False),
    Column("entity_code", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("termination_date", String(10)),
    Column("last_sequence", BigInteger, nullable=False),
)

worker_versions = Table(
    "worker_versions", metadata,
    Column("worker_id", String(200), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("effective_date", String(10), nullable=False),
    Column("role", String(100), nullable=False),
    Column("entity_code", String(20), nullable=False),
    Column("cost_rate", Dec, nullable=False),
    Column("cost_currency", String(3), nullable=False),
)

time_entries = Table(
    "time_entries", metadata,
    _id(),
    Column("time_entry_id", String(200), nullable=False, unique=True),
    Column("worker_id", String(200), nullable=False, index=True),
    Column("project_code", String(100), nullable=False, index=True),
    Column("task_code", String(40), nullable=False),
    Column("work_date", String(10), nullable=False, index=True),
    Column("hours", Dec, nullable=False),
    Column("role", String(100), nullable=False),
    Column("billable", Boolean, nullable=False),
    Column("status", String(20), nullable=False),  # approved | reversed
    Column("inbox_id", String(40), nullable=False),
)

billable_items = Table(
    "billable_items", metadata,
    Column("key", String(200), primary_key=True),
    Column("contract_number", String(100), nullable=False, index=True),
    Column("source", String(20), nullable=False),
    Column("service_date", String(10), nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", Dec, nullable=False),
    Column("unit_price", Dec, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", Dec, nullable=False),
    Column("rate_scope", String(40), nullable=False),
    # generated | released | invoiced | credited | reversed | written_off
    Column("status", String(20), nullable=False),
    Column("invoice_number", String(60)),
    # billing engine (migration 0003): lineage, scopes and snapshots of the item
    Column("origin", String(200)),  # the source record ("time:TE-1") of split parts
    Column("split_of", String(200)),
    Column("line_id", String(100)),
    Column("budget_id", String(100)),
    Column("role", String(100)),
    Column("deferred", Boolean, nullable=False, default=False, server_default="0"),
    Column("adjusts", Text),  # JSON list of keys a write-off adjusts
    Column("rate_card", String(100)),
    Column("fx_base", String(3)),  # FX snapshot when converted (expense currency → contract)
    Column("fx_rate", Dec),
    Column("fx_source", String(100)),
    Column("fx_as_of", String(10)),
    Column("credit_note_number", String(60)),
)
# No index on open items: the invoice run scans the table once, and an index keyed by status
# would be rewritten for every item it invoices (migration 0007 dropped it).
# Split parts by their source record (reversal looks items up by key or origin; 0018). Partial:
# the items without an origin, nearly all, are not in it.
Index("ix_billable_items_origin", billable_items.c.origin,
      sqlite_where=text("origin IS NOT NULL"), postgresql_where=text("origin IS NOT NULL"))

invoices = Table(
    "invoices", metadata,
    Column("number", String(60), primary_key=True),
    Column("entity_code", String(20), nullable=False),
    Column("contract_number", String(100), nullable=False, index=True),
    Column("customer_name", String(300), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("invoice_date", String(10), nullable=False),
    Column("period", String(7), nullable=False, index=True),
    Column("subtotal", Dec, nullable=False),
    Column("tax_code", String(40), nullable=False),
    Column("tax_rate", Dec, nullable=False),
    Column("tax", Dec, nullable=False),
    Column("total", Dec, nullable=False),
    Column("due_date", String(10), nullable=False),
    Column("service_line", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    # billing engine (migration 0003): FX snapshot to the entity's functional currency
    Column("functional_currency", String(3)),
    Column("fx_rate", Dec),
    Column("fx_source", String(100)),
    Column("fx_as_of", String(10)),
    Column("notes", Text),  # JSON list: tax note, amounts held at a cap
    UniqueConstraint("contract_number", "period", name="uq_invoices_contract_period"),
)

invoice_lines = Table(
    "invoice_lines", metadata,
    Column("invoice_number", String(60), ForeignKey("invoices.number"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("quantity", Dec, nullable=False),
    Column("unit_price", Dec, nullable=False),
    Column("amount", Dec, nullable=False),
    Column("item_keys", Text, nullable=False),  # JSON list
    Column("deferred", Boolean, nullable=False, default=False, server_default="0"),
)

journal_entries = Table(
    "journal_entries", metadata,
    _id(),
    Column("entity_code", String(20), nullable=False),
    Column("posting_date", String(10), nullable=False),
    Column("description", Text, nullable=False),
    Column("source_type", String(40), nullable=False),
    Column("source_id", String(200), nullable=False),
    Column("reverses", String(200)),
    Column("posted_at", String(40), nullable=False),
    UniqueConstraint("source_type", "source_id", name="uq_journal_entries_source"),
)

journal_lines = Table(
    "journal_lines", metadata,
    Column("entry_id", String(40), ForeignKey("journal_entries.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("account", String(40), nullable=False),
    Column("side", String(6), nullable=False),
    Column("amount", Dec, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("memo", Text, nullable=False),
)

def _load_engine_tables() -> None:
    """Every engine keeps its tables in its own module, on this metadata."""
    import importlib

    for name in ("billing_tables", "revenue_tables", "ledger_tables", "governance_tables",
                 "connector_tables", "masterdata_tables", "workforce_tables"):
        importlib.import_module(f"syncline.adapters.db.{name}")


_load_engine_tables()
