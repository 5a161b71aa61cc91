"""Workforce: HR facts per worker version, resource requests and assignments

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_profiles",
        sa.Column("worker_id", sa.String(200), nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("effective_date", sa.String(10), nullable=False),
        sa.Column("skills", sa.Text, nullable=False),
        sa.Column("certifications", sa.Text, nullable=False),
        sa.Column("city", sa.String(200)),
        sa.Column("country", sa.String(2)),
        sa.Column("time_zone", sa.String(100)),
        sa.Column("cost_center", sa.String(100)),
        sa.Column("capacity_hours", sa.String(40)),
        sa.Column("target_utilization", sa.String(40)),
        sa.Column("unavailability", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("worker_id", "sequence", name="pk_worker_profiles"),
    )
    op.create_table(
        "resource_requests",
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("project_code", sa.String(100), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("skills", sa.Text, nullable=False),
        sa.Column("hours_per_week", sa.String(40), nullable=False),
        sa.Column("start_date", sa.String(10), nullable=False),
        sa.Column("end_date", sa.String(10), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("billable", sa.Boolean, nullable=False),
        sa.Column("bill_rate", sa.String(40)),
        sa.Column("currency", sa.String(3)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("inbox_id", sa.String(40)),
        sa.PrimaryKeyConstraint("request_id", name="pk_resource_requests"),
    )
    op.create_index("ix_resource_requests_project_code", "resource_requests", ["project_code"])
    op.create_table(
        "assignments",
        sa.Column("assignment_id", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("worker_id", sa.String(200), nullable=False),
        sa.Column("project_code", sa.String(100), nullable=False),
        sa.Column("hours_per_week", sa.String(40), nullable=False),
        sa.Column("start_date", sa.String(10), nullable=False),
        sa.Column("end_date", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("approval_id", sa.String(40)),
        sa.Column("inbox_id", sa.String(40)),
        sa.PrimaryKeyConstraint("assignment_id", name="pk_assignments"),
    )
    for column in ("request_id", "worker_id", "project_code"):
        op.create_index(f"ix_assignments_{column}", "assignments", [column])


def downgrade() -> None:
    for column in ("request_id", "worker_id", "project_code"):
        op.drop_index(f"ix_assignments_{column}", "assignments")
    op.drop_table("assignments")
    op.drop_index("ix_resource_requests_project_code", "resource_requests")
    op.drop_table("resource_requests")
    op.drop_table("worker_profiles")
