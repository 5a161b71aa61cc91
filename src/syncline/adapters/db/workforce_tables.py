"""Tables of resource planning, on the shared metadata (see tables.py; migration 0017).

- ``worker_profiles``: the HR facts of a ``worker.upserted`` version that states any (skills,
  location, cost center, capacity, target utilization, unavailability), keyed like
  ``worker_versions`` by (worker, sequence) and effective from ``effective_date``. Skills,
  certifications and unavailability are JSON lists as the HRIS sent them.
- ``resource_requests``: ``resource.requested``: what a project asks for (role, skills with
  minimum levels, hours per week over a window, location constraint, billable, bill rate).
- ``assignments``: ``assignment.confirmed``: a worker booked on a request (hours per week over
  a window); ``status`` confirmed, or flagged when the worker left before its end.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, String, Table, Text

from syncline.adapters.db.tables import Dec, metadata

worker_profiles = Table(
    "worker_profiles", metadata,
    Column("worker_id", String(200), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("effective_date", String(10), nullable=False),
    Column("skills", Text, nullable=False),  # JSON [{"skill": .., "level": ..}]
    Column("certifications", Text, nullable=False),  # JSON [code]
    Column("city", String(200)),
    Column("country", String(2)),
    Column("time_zone", String(100)),
    Column("cost_center", String(100)),
    Column("capacity_hours", Dec),  # per week; None: the default (40)
    Column("target_utilization", Dec),  # fraction; None: the default (0.80)
    Column("unavailability", Text, nullable=False),  # JSON [{"start_date", "end_date", "kind"}]
)

resource_requests = Table(
    "resource_requests", metadata,
    Column("request_id", String(200), primary_key=True),
    Column("project_code", String(100), nullable=False, index=True),
    Column("role", String(100), nullable=False),
    Column("skills", Text, nullable=False),  # JSON [{"skill": .., "min_level": ..}]
    Column("hours_per_week", Dec, nullable=False),
    Column("start_date", String(10), nullable=False),
    Column("end_date", String(10), nullable=False),
    Column("location", Text, nullable=False),  # JSON {"city", "country", "time_zone"}
    Column("billable", Boolean, nullable=False),
    Column("bill_rate", Dec),
    Column("currency", String(3)),
    Column("status", String(20), nullable=False),  # open | filled
    Column("inbox_id", String(40)),
)

assignments = Table(
    "assignments", metadata,
    Column("assignment_id", String(200), primary_key=True),
    Column("request_id", String(200), nullable=False, index=True),
    Column("worker_id", String(200), nullable=False, index=True),
    Column("project_code", String(100), nullable=False, index=True),
    Column("hours_per_week", Dec, nullable=False),
    Column("start_date", String(10), nullable=False),
    Column("end_date", String(10), nullable=False),
    Column("status", String(20), nullable=False),  # confirmed | flagged
    Column("approval_id", String(40)),  # the over-allocation approval it needed, if any
    Column("inbox_id", String(40)),
)
