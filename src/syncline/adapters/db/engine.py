"""Engine creation (SQLite with WAL by default, PostgreSQL via psycopg 3) and migrations.

SQLite, how Syncline uses it (docs/operations.md has the operator's view):

- Syncline says ``BEGIN`` itself (pysqlite's own transaction handling is switched off, as the
  SQLAlchemy documentation advises for SAVEPOINT and transactional DDL).
- A unit of work — a transaction begun explicitly, ``engine.begin()`` or ``conn.begin()``,
  which is how Syncline writes — is ``BEGIN IMMEDIATE``: it takes the database's one write
  lock when it starts, waiting up to ``busy_timeout`` for another writer to finish. A
  transaction that read first and wrote later could otherwise fail half-way ("database is
  locked": SQLite cannot wait to upgrade a read snapshot another writer has made stale) or
  act on a stale read (two receivers taking the same next ``seq``).
- A transaction SQLAlchemy begins on its own on a plain ``engine.connect()`` (how Syncline
  reads), or one given the execution option ``sqlite_read_only=True``, is a deferred
  ``BEGIN``: under WAL it reads a snapshot and never waits for a writer, so a reader holding
  a connection never blocks another connection's work.
- Migrations run in one such transaction: SQLite's DDL is transactional, so a first start
  killed at any point leaves either the database as it was (perhaps an empty file) or the
  schema at head, never tables without their ``alembic_version``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# SQLite's page cache per connection, KiB (its default is 2,000 KiB). A unit of work that
# changes more pages than the cache holds spills them to the log before it commits, so a page
# changed again is written again, and pages evicted are read back with a system call each:
# one bench ingest (12,997 events, a 21 MB database) made 27,960 writes and 17,311 reads
# with the default, 20,442 and 6,622 with 64 MiB (strace). The cache fills only as pages are
# read, so a small database never takes it.
CACHE_KIB = 65_536
READ_ONLY = "sqlite_read_only"  # execution option: a deferred BEGIN (reads only)
MIGRATE_LOCK = 0x5359_4E43_0002  # "SYNC" 2: PostgreSQL advisory lock key of migrations


class _SQLiteConnection(Connection):
    """A connection that tells `_begin` whether SQLAlchemy began its transaction on its own
    (autobegin: the first statement on a plain `engine.connect()`) rather than on request.
    (SQLAlchemy has no public hook for that; `tests/test_crash_ingest.py` and
    `tests/test_ingest_concurrency.py` fail if the behaviour changes.)"""

    autobegun = False

    def _autobegin(self) -> None:
        self.autobegun = True
        try:
            super()._autobegin()
        finally:
            self.autobegun = False


def sqlite_file(engine: Engine) -> Path | None:
    """The file of ``engine``'s SQLite database, resolved; None for PostgreSQL, an in-memory
    database or a URI filename (``file:…``)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return Path(database).resolve()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        db = parsed.database
        on_file = bool(db) and db != ":memory:" and not str(db).startswith("file:")
        if on_file:
            Path(str(db)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # no implicit BEGIN/COMMIT: `_begin` says them
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # first: WAL may need to wait
            if on_file:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # negative: KiB, not pages
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            reading = getattr(conn, "autobegun", False) or conn.get_execution_options().get(
                READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

        engine._connection_cls = _SQLiteConnection  # see _SQLiteConnection
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # only to migrate: a command at head never imports it

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration's revision: its file's number (``versions/NNNN_name.py``; the
    revisions are those numbers, each following the one before — a test holds them to it,
    and this to alembic's own head)."""
    return max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _at_head(conn: Connection) -> bool:
    """Whether the schema is at head, read from ``alembic_version`` without alembic: importing
    it and reading every migration script cost each command's start about 0.2 s."""
    if not inspect(conn).has_table("alembic_version"):
        return False
    return list(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()) == [
        head_revision()]


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent, all or nothing).

    A database already at head is only read (no write lock). Otherwise the whole upgrade
    runs in one transaction — the write lock taken up front on SQLite, an advisory lock on
    PostgreSQL — so concurrent first starts take turns and a killed one leaves nothing half
    done; the next start simply migrates again.
    """
    with engine.connect() as conn:
        if _at_head(conn.execution_options(**{READ_ONLY: True})):
            return
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
