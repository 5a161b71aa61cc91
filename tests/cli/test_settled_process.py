"""A command's process, once its system is wired, sets its startup objects apart from the
garbage collector, once (bootstrap.settle_process)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from syncline import bootstrap
from syncline.cli.common import _system

_PROBE = textwrap.dedent("""
    import gc, sys
    from syncline.cli.common import _system
    before = gc.get_freeze_count()
    _system(sys.argv[1])
    print(before, gc.get_freeze_count())
""")


def test_a_commands_wired_system_is_set_apart(tmp_path: Path) -> None:
    """In a fresh interpreter (this one may have been settled by an earlier test)."""
    url = f"sqlite:///{tmp_path / 'settled.db'}"
    out = subprocess.run([sys.executable, "-c", _PROBE, url], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    before, after = (int(x) for x in out)
    assert before == 0
    assert after > 100_000  # the modules, tables and compiled schemas of a wired system


def test_only_once_a_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(bootstrap, "_SETTLED", [])
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    for name in ("a", "b"):
        _system(f"sqlite:///{tmp_path / name}.db")
    assert calls == ["collect", "freeze"]
