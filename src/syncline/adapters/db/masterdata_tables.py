"""Tables of the firm's master data, on the shared metadata (see tables.py; migration 0015).

- ``master_data_versions``: every master-data document set through the API or the CLI (JSON,
  the shape of domain/masterdata.py), numbered 1, 2, 3 …; the highest is the current one.
  None yet: the file (SYNCLINE_MASTER_DATA) or the built-in firm is current.
- ``customer_profiles``: what ``customer.upserted`` says of a customer beyond its name and
  country (billing e-mail, legal entity, tax profile, active).
- ``project_profiles``: what ``project.activated`` says of a project (start date, legal
  entity, its cost center and service line).
- ``time_dimensions``: the dimensions an approved time entry was booked to, when it states
  them (``time.approved`` ``dimensions``).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text

from syncline.adapters.db.tables import metadata

master_data_versions = Table(
    "master_data_versions", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("document", Text, nullable=False),  # JSON
    Column("source", String(300), nullable=False),  # api | file:<path>
    Column("set_by", String(200), nullable=False),
    Column("set_at", String(40), nullable=False),
    Column("reason", Text),
)

customer_profiles = Table(
    "customer_profiles", metadata,
    Column("customer_id", String(40), ForeignKey("customers.id"), primary_key=True),
    Column("billing_email", String(300)),
    Column("entity_code", String(20)),
    Column("tax_profile", String(40)),
    Column("active", Boolean, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

project_profiles = Table(
    "project_profiles", metadata,
    Column("project_id", String(40), ForeignKey("projects.id"), primary_key=True),
    Column("start_date", String(10), nullable=False),
    Column("entity_code", String(20), nullable=False),
    Column("cost_center", String(40)),
    Column("service_line", String(40)),
    Column("activated_at", String(40), nullable=False),
)

time_dimensions = Table(
    "time_dimensions", metadata,
    Column("time_entry_id", String(200), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("code", String(40), nullable=False),
)
