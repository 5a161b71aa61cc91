"""Tables of governance, on the shared metadata (see tables.py; migration 0012).

- ``api_keys``: named API keys, stored as the SHA-256 of the token (never the token), with
  their roles (comma-separated), expiry and revocation.
- ``approval_requests``: maker-checker requests (manual adjustments, credit requests,
  hard-cap releases): what is asked (JSON), by whom, and who approved or rejected it.
- ``audit_log``: the append-only, hash-chained log of human actions and configuration
  changes; ``seq`` is gap-free from 1, ``prev_hash`` is the previous row's ``hash``.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from syncline.adapters.db.tables import metadata

api_keys = Table(
    "api_keys", metadata,
    Column("name", String(100), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # its first characters, to tell keys apart
    Column("roles", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", String(40)),
    Column("revoked_at", String(40)),
    Column("revoked_by", String(200)),
    Column("last_used_at", String(40)),
)

approval_requests = Table(
    "approval_requests", metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),  # adjustment | credit | release
    Column("subject", String(200), nullable=False),
    Column("amount", String(40)),
    Column("currency", String(3)),
    Column("payload", Text, nullable=False),  # JSON: what to do once approved
    Column("reason", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending | approved | rejected
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", String(40), nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", String(40)),
    Column("decision_reason", Text),
    Column("outcome", Text),  # JSON: what carrying it out answered
)

audit_log = Table(
    "audit_log", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(60), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("before", Text),  # JSON
    Column("after", Text),  # JSON
    Column("reason", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
