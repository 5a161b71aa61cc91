"""Tables of the billing engine's persistence, on the shared metadata (see tables.py).

Billable items, invoices and invoice lines are in tables.py (with the billing engine's
columns: origin, split parts, FX snapshot, deferred); here are what the engine adds: billing
terms per contract (expense policy, retainer timing, drawdown), caps and what was billed
against them, holds at hard caps, credit requests and credit notes, number series per legal
entity, approved expenses, FX rates and published rate cards (migration 0008).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text

from syncline.adapters.db.tables import Dec, metadata

contract_billing_terms = Table(
    "contract_billing_terms", metadata,
    Column("contract_number", String(100), primary_key=True),
    Column("expense_policy", String(20), nullable=False),  # at_cost | markup | not_billable
    Column("markup_percent", Dec, nullable=False),
    Column("retainer_timing", String(10), nullable=False),  # advance | arrears
    Column("included_hours", Dec),  # drawdown retainers; a prepaid block's hours
    Column("overage_rate", Dec),
    Column("retainer_kind", String(20)),  # monthly (None) | prepaid_block (migration 0011)
    Column("advance_convention", String(20)),  # next_month (None) | current_month
)

billing_caps = Table(
    "billing_caps", metadata,
    Column("cap_id", String(100), primary_key=True),
    Column("contract_number", String(100), nullable=False, index=True),
    Column("scope", String(20), nullable=False),  # contract | budget | line
    Column("scope_key", String(200), nullable=False),
    Column("limit_amount", Dec, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(10), nullable=False),  # soft | hard
    Column("tolerance", Dec, nullable=False),
    Column("billed", Dec, nullable=False),  # billed against the cap to date
)

billing_holds = Table(
    "billing_holds", metadata,
    Column("item_key", String(200), primary_key=True),
    Column("cap_id", String(100), nullable=False),
    Column("contract_number", String(100), nullable=False, index=True),
    Column("amount", Dec, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reason", Text, nullable=False),
    Column("held_in", String(7), nullable=False),  # period of the run that held it
    Column("status", String(20), nullable=False),  # held | approved | billed
    Column("approved_by", String(200)),
    Column("approved_at", String(40)),
)

number_series = Table(
    "number_series", metadata,
    Column("entity_code", String(20), primary_key=True),
    Column("series", String(10), primary_key=True),  # "" invoices, "CN" credit notes
    Column("last_number", String(60), nullable=False),
)

credit_requests = Table(
    "credit_requests", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_key", String(200), nullable=False, unique=True),  # natural: time:TE-1@rej
    Column("invoice_number", String(60), nullable=False, index=True),
    Column("item_keys", Text, nullable=False),  # JSON list of keys or origins
    Column("reason", Text, nullable=False),
    Column("corrected_hours", Dec),
    Column("revision", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # pending | issued | refused
    Column("credit_note_number", String(60)),
    Column("inbox_id", String(40)),
    Column("requested_at", String(40), nullable=False),
)

credit_notes = Table(
    "credit_notes", metadata,
    Column("number", String(60), primary_key=True),
    Column("entity_code", String(20), nullable=False),
    Column("invoice_number", String(60), nullable=False, index=True),
    Column("contract_number", String(100), nullable=False),
    Column("customer_name", String(300), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("credit_date", String(10), nullable=False),
    Column("reason", Text, nullable=False),
    Column("subtotal", Dec, nullable=False),
    Column("tax_code", String(40), nullable=False),
    Column("tax_rate", Dec, nullable=False),
    Column("tax", Dec, nullable=False),
    Column("total", Dec, nullable=False),
    Column("service_line", String(40), nullable=False),
)

credit_note_lines = Table(
    "credit_note_lines", metadata,
    Column("credit_note_number", String(60), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("quantity", Dec, nullable=False),
    Column("unit_price", Dec, nullable=False),
    Column("amount", Dec, nullable=False),
    Column("deferred", Boolean, nullable=False),
    Column("item_keys", Text, nullable=False),  # JSON list: the exact items reversed
)

expenses = Table(
    "expenses", metadata,
    Column("expense_id", String(200), primary_key=True),
    Column("worker_id", String(200), nullable=False),
    Column("project_code", String(100), nullable=False, index=True),
    Column("contract_number", String(100), nullable=False),
    Column("incurred_on", String(10), nullable=False),
    Column("category", String(40), nullable=False),
    Column("description", Text, nullable=False),
    Column("amount", Dec, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("billable", Boolean, nullable=False),
    Column("status", String(20), nullable=False),  # approved | rejected
    Column("inbox_id", String(40), nullable=False),
)

fx_rates = Table(
    "fx_rates", metadata,
    Column("base", String(3), primary_key=True),
    Column("quote", String(3), primary_key=True),
    Column("as_of", String(10), primary_key=True),
    Column("rate", Dec, nullable=False),
    Column("source", String(100), nullable=False),
)

# Rate cards (rate_card.published): every version is kept, never updated in place; the version
# in force on a date is the highest one whose effective_from is on or before it.
rate_cards = Table(
    "rate_cards", metadata,
    Column("card_id", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("scope", String(20), nullable=False),  # default | customer | contract
    Column("scope_key", String(200)),  # customer external id or contract number; None: default
    Column("currency", String(3), nullable=False),
    Column("effective_from", String(10), nullable=False),
    Column("effective_to", String(10)),  # inclusive
    Column("increment_hours", Dec, nullable=False),
    Column("rounding", String(10), nullable=False),  # up | nearest | down | none
    Column("name", Text),
    Column("inbox_id", String(40), nullable=False),
)

rate_card_entries = Table(
    "rate_card_entries", metadata,
    Column("card_id", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("role", String(100), primary_key=True),
    Column("rate", Dec, nullable=False),
)

# A generation per cached set of tables (migration 0025): triggers on the tables set it to a
# new random value in the transaction of every insert, update or delete, so a process that
# kept what it read with the generation it read first (``rate_cards``: every published card,
# services/messaging/card_cache.py) knows it is still current from one row.
change_generations = Table(
    "change_generations", metadata,
    Column("name", String(40), primary_key=True),
    Column("generation", BigInteger, nullable=False),
)

__all__ = [
    "billing_caps", "billing_holds", "change_generations", "contract_billing_terms",
    "credit_note_lines", "credit_notes", "credit_requests", "expenses", "fx_rates", "metadata",
    "number_series", "rate_card_entries", "rate_cards",
]

payments = Table(
    "payments", metadata,
    Column("payment_id", String(200), primary_key=True),
    Column("invoice_number", String(60), nullable=False, index=True),
    Column("entity_code", String(20), nullable=False),
    Column("received_on", String(10), nullable=False),
    Column("amount", Dec, nullable=False),  # in the invoice's currency
    Column("currency", String(3), nullable=False),
    Column("reference", Text),
    Column("inbox_id", String(40), nullable=False),
)
