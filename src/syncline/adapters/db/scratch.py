"""Throwaway PostgreSQL databases, for the tests and benchmarks that need a real server.

`admin_engine()` connects to the server's maintenance database (``SYNCLINE_TEST_PG_URL``,
default the local server's ``postgres`` database) and raises if nothing answers; callers
decide what that means (a test skips or fails, a benchmark says so and stops).
`throwaway_database()` creates a database with a unique name and drops it afterwards, even
if sessions are still connected (``WITH (FORCE)``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text

ADMIN_URL = os.environ.get("SYNCLINE_TEST_PG_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def admin_engine(url: str = ADMIN_URL) -> Engine:
    """An autocommit engine on the server's maintenance database, checked with one query."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception:
        admin.dispose()
        raise
    return admin


@contextmanager
def throwaway_database(admin: Engine, prefix: str) -> Iterator[str]:
    """A new database named ``<prefix>_<10 hex>`` on ``admin``'s server: its URL, dropped
    when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
