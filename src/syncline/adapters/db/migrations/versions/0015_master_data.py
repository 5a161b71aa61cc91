"""master data: versions of the firm's master data set by API/CLI, customer and project
profiles (customer.upserted, project.activated), the dimensions of time entries

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "master_data_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_table(
        "customer_profiles",
        sa.Column("customer_id", sa.String(40), sa.ForeignKey(
            "customers.id", name="fk_customer_profiles_customer_id_customers"),
            primary_key=True),
        sa.Column("billing_email", sa.String(300)),
        sa.Column("entity_code", sa.String(20)),
        sa.Column("tax_profile", sa.String(40)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "project_profiles",
        sa.Column("project_id", sa.String(40), sa.ForeignKey(
            "projects.id", name="fk_project_profiles_project_id_projects"), primary_key=True),
        sa.Column("start_date", sa.String(10), nullable=False),
        sa.Column("entity_code", sa.String(20), nullable=False),
        sa.Column("cost_center", sa.String(40)),
        sa.Column("service_line", sa.String(40)),
        sa.Column("activated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "time_dimensions",
        sa.Column("time_entry_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("time_dimensions")
    op.drop_table("project_profiles")
    op.drop_table("customer_profiles")
    op.drop_table("master_data_versions")
