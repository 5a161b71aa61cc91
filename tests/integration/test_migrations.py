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
