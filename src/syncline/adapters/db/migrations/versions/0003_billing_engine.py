"""billing engine: item lineage and snapshots, invoice FX, terms, caps, holds, credit notes,
number series, expenses, FX rates

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from syncline.adapters.db.tables import Dec

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ITEM_COLUMNS = (
    ("origin", sa.String(200)), ("split_of", sa.String(200)), ("line_id", sa.String(100)),
    ("budget_id", sa.String(100)), ("role", sa.String(100)), ("adjusts", sa.Text()),
    ("rate_card", sa.String(100)), ("fx_base", sa.String(3)), ("fx_rate", Dec(length=40)),
    ("fx_source", sa.String(100)), ("fx_as_of", sa.String(10)),
    ("credit_note_number", sa.String(60)),
)
_INVOICE_COLUMNS = (
    ("functional_currency", sa.String(3)), ("fx_rate", Dec(length=40)),
    ("fx_source", sa.String(100)), ("fx_as_of", sa.String(10)), ("notes", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("billable_items", schema=None) as batch:
        for name, type_ in _ITEM_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("deferred", sa.Boolean(), nullable=False,
                                   server_default="0"))
    _OPEN = sa.text("status IN ('generated', 'released')")
    op.drop_index("ix_billable_items_status_date", table_name="billable_items")
    op.create_index("ix_billable_items_open", "billable_items",
                    ["contract_number", "service_date"], sqlite_where=_OPEN,
                    postgresql_where=_OPEN)
    with op.batch_alter_table("invoices", schema=None) as batch:
        for name, type_ in _INVOICE_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("invoice_lines", schema=None) as batch:
        batch.add_column(sa.Column("deferred", sa.Boolean(), nullable=False,
                                   server_default="0"))

    op.create_table(
        "contract_billing_terms",
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("expense_policy", sa.String(20), nullable=False),
        sa.Column("markup_percent", Dec(length=40), nullable=False),
        sa.Column("retainer_timing", sa.String(10), nullable=False),
        sa.Column("included_hours", Dec(length=40), nullable=True),
        sa.Column("overage_rate", Dec(length=40), nullable=True),
        sa.PrimaryKeyConstraint("contract_number", name=op.f("pk_contract_billing_terms")),
    )
    op.create_table(
        "billing_caps",
        sa.Column("cap_id", sa.String(100), nullable=False),
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("scope_key", sa.String(200), nullable=False),
        sa.Column("limit_amount", Dec(length=40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("tolerance", Dec(length=40), nullable=False),
        sa.Column("billed", Dec(length=40), nullable=False),
        sa.PrimaryKeyConstraint("cap_id", name=op.f("pk_billing_caps")),
    )
    op.create_index("ix_billing_caps_contract_number", "billing_caps", ["contract_number"])
    op.create_table(
        "billing_holds",
        sa.Column("item_key", sa.String(200), nullable=False),
        sa.Column("cap_id", sa.String(100), nullable=False),
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("amount", Dec(length=40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_in", sa.String(7), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_at", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("item_key", name=op.f("pk_billing_holds")),
    )
    op.create_index("ix_billing_holds_contract_number", "billing_holds", ["contract_number"])
    op.create_table(
        "number_series",
        sa.Column("entity_code", sa.String(20), nullable=False),
        sa.Column("series", sa.String(10), nullable=False),
        sa.Column("last_number", sa.String(60), nullable=False),
        sa.PrimaryKeyConstraint("entity_code", "series", name=op.f("pk_number_series")),
    )
    op.create_table(
        "credit_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_key", sa.String(200), nullable=False),
        sa.Column("invoice_number", sa.String(60), nullable=False),
        sa.Column("item_keys", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_hours", Dec(length=40), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("credit_note_number", sa.String(60), nullable=True),
        sa.Column("inbox_id", sa.String(40), nullable=True),
        sa.Column("requested_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_requests")),
        sa.UniqueConstraint("request_key", name=op.f("uq_credit_requests_request_key")),
    )
    op.create_index("ix_credit_requests_invoice_number", "credit_requests", ["invoice_number"])
    op.create_table(
        "credit_notes",
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("entity_code", sa.String(20), nullable=False),
        sa.Column("invoice_number", sa.String(60), nullable=False),
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("customer_name", sa.String(300), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("credit_date", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("subtotal", Dec(length=40), nullable=False),
        sa.Column("tax_code", sa.String(40), nullable=False),
        sa.Column("tax_rate", Dec(length=40), nullable=False),
        sa.Column("tax", Dec(length=40), nullable=False),
        sa.Column("total", Dec(length=40), nullable=False),
        sa.Column("service_line", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_credit_notes")),
    )
    op.create_index("ix_credit_notes_invoice_number", "credit_notes", ["invoice_number"])
    op.create_table(
        "credit_note_lines",
        sa.Column("credit_note_number", sa.String(60), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", Dec(length=40), nullable=False),
        sa.Column("unit_price", Dec(length=40), nullable=False),
        sa.Column("amount", Dec(length=40), nullable=False),
        sa.Column("deferred", sa.Boolean(), nullable=False),
        sa.Column("item_keys", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("credit_note_number", "line_no",
                                name=op.f("pk_credit_note_lines")),
    )
    op.create_table(
        "expenses",
        sa.Column("expense_id", sa.String(200), nullable=False),
        sa.Column("worker_id", sa.String(200), nullable=False),
        sa.Column("project_code", sa.String(100), nullable=False),
        sa.Column("contract_number", sa.String(100), nullable=False),
        sa.Column("incurred_on", sa.String(10), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount", Dec(length=40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("inbox_id", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("expense_id", name=op.f("pk_expenses")),
    )
    op.create_index("ix_expenses_project_code", "expenses", ["project_code"])
    op.create_table(
        "fx_rates",
        sa.Column("base", sa.String(3), nullable=False),
        sa.Column("quote", sa.String(3), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("rate", Dec(length=40), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("base", "quote", "as_of", name=op.f("pk_fx_rates")),
    )


def downgrade() -> None:
    op.drop_table("fx_rates")
    op.drop_index("ix_expenses_project_code", table_name="expenses")
    op.drop_table("expenses")
    op.drop_table("credit_note_lines")
    op.drop_index("ix_credit_notes_invoice_number", table_name="credit_notes")
    op.drop_table("credit_notes")
    op.drop_index("ix_credit_requests_invoice_number", table_name="credit_requests")
    op.drop_table("credit_requests")
    op.drop_table("number_series")
    op.drop_index("ix_billing_holds_contract_number", table_name="billing_holds")
    op.drop_table("billing_holds")
    op.drop_index("ix_billing_caps_contract_number", table_name="billing_caps")
    op.drop_table("billing_caps")
    op.drop_table("contract_billing_terms")
    with op.batch_alter_table("invoice_lines", schema=None) as batch:
        batch.drop_column("deferred")
    with op.batch_alter_table("invoices", schema=None) as batch:
        for name, _ in reversed(_INVOICE_COLUMNS):
            batch.drop_column(name)
    op.drop_index("ix_billable_items_open", table_name="billable_items")
    op.create_index("ix_billable_items_status_date", "billable_items",
                    ["status", "service_date"])
    with op.batch_alter_table("billable_items", schema=None) as batch:
        batch.drop_column("deferred")
        for name, _ in reversed(_ITEM_COLUMNS):
            batch.drop_column(name)
