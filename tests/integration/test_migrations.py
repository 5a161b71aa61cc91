"""The migrations build exactly the schema the table definitions describe, and step back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from syncline.adapters.db.engine import alembic_config, make_engine, migrate
from syncline.adapters.db.tables import metadata


def test_migrated_schema_has_no_drift_and_downgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    command.downgrade(alembic_config(url), "base")
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_the_psa_time_words_are_backfilled_from_the_handled_messages(tmp_path: Path) -> None:
    """Migration 0020 on a database of 0019: every time.approved / time.rejected message the
    processor has handled gets its word (T-1's approval and rejection); one still waiting to
    be applied (T-2, ``received``) is left to the handler, and one with no time entry (bad
    body) says nothing."""
    import json

    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0019")
    engine = make_engine(url)
    approval = {"time_entry_id": "T-1", "work_date": "2026-01-05", "project_code": "P-1",
                "hours": "7.50"}
    rows = [("ibx_1", 1, "time.approved", {"data": approval}, "applied"),
            ("ibx_2", 2, "time.rejected", {"data": {"time_entry_id": "T-1"}}, "applied"),
            ("ibx_3", 3, "time.approved", {"data": {**approval, "time_entry_id": "T-2"}},
             "received"),
            ("ibx_4", 4, "time.approved", {"data": {"hours": "1"}}, "failed")]
    with engine.begin() as conn:
        for id_, seq, type_, raw, status in rows:
            conn.execute(text(
                "INSERT INTO inbox (id, seq, source, event_id, type, raw, status, received_at)"
                " VALUES (:id, :seq, 'psa', :id, :type, :raw, :status, '2026-01-06')"),
                {"id": id_, "seq": seq, "type": type_, "raw": json.dumps(raw),
                 "status": status})
    migrate(engine)
    with engine.connect() as conn:
        words = conn.execute(text("SELECT inbox_id, time_entry_id, kind, work_date, "
                                  "project_code, hours FROM psa_time_words ORDER BY inbox_id"))
        assert [tuple(w) for w in words] == [
            ("ibx_1", "T-1", "approved", "2026-01-05", "P-1", "7.50"),
            ("ibx_2", "T-1", "rejected", None, None, None)]
    engine.dispose()


def test_locked_months_are_carried_by_the_first_close_after_migration_0022(
        tmp_path: Path) -> None:
    """A database whose months were locked before migration 0022 (here: carried, then
    stepped back to 0021, which drops the carries, and migrated again): the carries start
    empty and the next close carries every locked month — the same rows as kept month by
    month — and its own."""
    from sqlalchemy import select

    from syncline.adapters.db.close_tables import ledger_carried_balances
    from syncline.services.close import steps as close
    from tests.property.test_carried import LOCKED, closed_firm

    url = f"sqlite:///{tmp_path / 'c.db'}"
    system = closed_firm(url)

    def rows() -> list[tuple[object, ...]]:
        with system.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(ledger_carried_balances).order_by(
                *ledger_carried_balances.primary_key.columns))]

    kept = rows()
    assert {r[1] for r in kept} == set(LOCKED)
    command.downgrade(alembic_config(url), "0021")
    migrate(system.engine)
    assert rows() == []
    for _name, step in close.LEDGER_STEPS:
        step(system, "2026-04", None)
    close.close_and_lock(system, "2026-04", None, actor="test", lock=True)
    after = rows()
    assert [r for r in after if r[1] in LOCKED] == kept
    assert {r[1] for r in after} == {*LOCKED, "2026-04"}
    system.engine.dispose()


def test_the_head_read_without_alembic_is_alembics_own(tmp_path: Path) -> None:
    """A command at head does not import alembic (adapters/db/engine.head_revision reads the
    newest file's number): every migration's revision is its file's number, each follows the
    one before, the newest is alembic's one head; a database one step behind is migrated."""
    import re

    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from syncline.adapters.db.engine import MIGRATIONS, head_revision

    files = sorted((MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    previous = None
    for path in files:
        source = path.read_text(encoding="utf-8")
        revision = re.search(r"^revision: str = [\"']([^\"']+)", source, re.M)
        down = re.search(r"^down_revision: str \| None = (None|[\"']([^\"']+))", source, re.M)
        assert revision and revision.group(1) == path.name[:4], path.name
        assert down and down.group(2) == previous, path.name
        previous = path.name[:4]
    url = f"sqlite:///{tmp_path / 'm.db'}"
    scripts = ScriptDirectory.from_config(alembic_config(url))
    assert scripts.get_heads() == [head_revision()] == [previous]

    engine = make_engine(url)
    migrate(engine)
    behind = files[-2].name[:4]
    command.downgrade(alembic_config(url), behind)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == behind
    migrate(engine)  # not at head: upgraded
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            head_revision())
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
