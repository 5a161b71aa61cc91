"""Tables of the canonical business state, on the shared metadata (see tables.py).

Customers, contracts and their lines, rates and milestones; projects, WBS tasks, workers and
their versions; time entries; billable items, invoices and their lines; journal entries and
their lines. tables.py imports this module where these tables used to be defined, so the
metadata keeps its table order, and re-exports every name.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from syncline.adapters.db.base import Dec, _id, metadata

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
# the close reads a period's items by service date (migration 0020, docs/adr/0004)
Index("ix_billable_items_source_service_date", billable_items.c.source,
      billable_items.c.service_date)
# No index on open items: the invoice run scans the table once, and an index keyed by status
# would be rewritten for every item it invoices (migration 0007 dropped it).
# Split parts by their source record (reversal looks items up by key or origin; 0018). Partial:
# the items without an origin, nearly all, are not in it.
Index("ix_billable_items_origin", billable_items.c.origin,
      sqlite_where=text("origin IS NOT NULL"), postgresql_where=text("origin IS NOT NULL"))
# The items of given invoices (the reconciliation's invoiced-items check; 0026). Partial: an
# item enters it when invoiced, never when generated.
Index("ix_billable_items_invoice_number", billable_items.c.invoice_number,
      sqlite_where=text("invoice_number IS NOT NULL"),
      postgresql_where=text("invoice_number IS NOT NULL"))
# The items never invoiced by service date (the unbilled items at a period end; 0028).
# Partial: an item enters it when generated and leaves it when invoiced.
Index("ix_billable_items_uninvoiced", billable_items.c.service_date,
      sqlite_where=text("invoice_number IS NULL"),
      postgresql_where=text("invoice_number IS NULL"))

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
# An entity's entries by date: the books after its carried month, its first posting, the
# entities with entries, its month's ERP summaries (0028).
Index("ix_journal_entries_entity_date", journal_entries.c.entity_code,
      journal_entries.c.posting_date)

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
