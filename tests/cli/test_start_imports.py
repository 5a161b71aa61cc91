"""A command's start loads what it uses: on a database at head, wiring the system (what
every command does) imports neither alembic (the head is read from ``alembic_version`` and
the newest migration's number) nor numpy (only the batch staffing matcher needs it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_PROBE = """
import sys
from syncline.bootstrap import bootstrap
from syncline.config import Settings
bootstrap(Settings(database_url=sys.argv[1]), durable=False)
print(sorted(m for m in ("alembic", "numpy") if m in sys.modules))
"""


def test_a_command_at_head_imports_neither_alembic_nor_numpy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = subprocess.run([sys.executable, "-c", _PROBE, url], capture_output=True,
                           text=True, check=True)
    assert first.stdout.strip() == "['alembic']"  # a new file: migrated, so alembic
    again = subprocess.run([sys.executable, "-c", _PROBE, url], capture_output=True,
                           text=True, check=True)
    assert again.stdout.strip() == "[]"
