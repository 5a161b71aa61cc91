"""The KPI dashboard's cache (services/kpis/cache.py, ADR 0015) over the small firm of
test_kpis.py (clock fixed at 2026-07-15T12:00Z), and the change token it is keyed on
(adapters/db/changes.py) on SQLite and PostgreSQL.

By hand (test_kpi_series.py): unbilled approved time at the end of February is T-3, 2 h ×
200.00 = 400.00, and stays 400.00 to July (nothing bills it). A late fact — T-4, 3 h on
2026-02-10, approved — adds 3 × 200.00 = 600.00 to every month from February: 1,000.00.
The T-X exception is raised at 07-15T12:00 (the park sweep): 0 days old at the clock (bucket
0-1), 10 days old on 07-25T12:00 (bucket 8-30).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from syncline.adapters.db.changes import ChangeToken
from syncline.bootstrap import Syncline
from syncline.services.kpis import series
from syncline.services.kpis.cache import KpiCache
from syncline.services.ledger.reports.registry import report_options
from tests.builders import time_entry
from tests.conftest import FIXED_NOW, pg_admin
from tests.services.test_billing_wiring import ingest
from tests.services.test_kpis import small_firm

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]


@pytest.fixture
def firm(system: Syncline) -> Syncline:
    small_firm(system)
    return system


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Each month ``compute_kpis`` computes, and ``ledger`` for the ledger reports' cells."""
    counted: Counter[str] = Counter()
    compute, ledger = series.compute_kpis, series._ledger_cells

    def counting_compute(conn: Any, period: str, **kw: Any) -> Any:
        counted[period] += 1
        return compute(conn, period, **kw)

    def counting_ledger(*args: Any) -> Any:
        counted["ledger"] += 1
        return ledger(*args)

    monkeypatch.setattr(series, "compute_kpis", counting_compute)
    monkeypatch.setattr(series, "_ledger_cells", counting_ledger)
    return counted


def _view(system: Syncline, cache: KpiCache | None, now: datetime = FIXED_NOW
          ) -> dict[str, Any]:
    with system.engine.connect() as conn:
        trends = series.kpi_trends(conn, MONTHS[0], MONTHS[-1], options=report_options(system),
                                   now=now, **({"kept": cache.view(conn)} if cache else {}))
    return {t.kpi: t.as_dict() for t in trends}


def _values(view: dict[str, Any], kpi: str, label: str) -> list[str | None]:
    return next(s["values"] for s in view[kpi]["series"] if s["label"] == label)


def test_months_over_are_reused_until_anything_new_is_committed(
        firm: Syncline, calls: Counter[str]) -> None:
    cache = KpiCache.of(firm.engine)
    first = _view(firm, cache)
    assert calls == Counter({**dict.fromkeys(MONTHS, 1), "ledger": 1})
    assert _values(first, "unbilled_approved_time", "US01 USD") == [
        "0", "400.00", "400.00", "400.00", "400.00", "400.00", "400.00"]
    calls.clear()
    assert _view(firm, cache) == first
    assert calls == Counter({"2026-07": 1})  # July is not over: as of now, every time

    calls.clear()  # the clock alone moves July's figures: T-X's exception is 10 days old
    later = _view(firm, cache, now=datetime(2026, 7, 25, 12, tzinfo=UTC))
    assert calls == Counter({"2026-07": 1})
    assert ([_values(first, "exception_aging", b)[-1] for b in ("0-1", "8-30")]
            == ["1", "0"])
    assert [_values(later, "exception_aging", b)[-1] for b in ("0-1", "8-30")] == ["0", "1"]

    ingest(firm, time_entry("T-4", hours="3", day="2026-02-10"))  # a late fact in February
    calls.clear()
    after = _view(firm, cache)
    assert calls == Counter({**dict.fromkeys(MONTHS, 1), "ledger": 1})
    assert _values(after, "unbilled_approved_time", "US01 USD") == [
        "0", "1000.00", "1000.00", "1000.00", "1000.00", "1000.00", "1000.00"]
    assert after == _view(firm, None)  # what computing it all afresh shows
    calls.clear()
    assert _view(firm, cache) == after and calls == Counter({"2026-07": 1})


def test_a_database_in_memory_keeps_nothing() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        kept = KpiCache.of(engine).view(conn)
    assert kept.version is None
    made = [kept.get("k", lambda n=n: Decimal(n)) for n in (1, 2)]
    assert made == [Decimal(1), Decimal(2)]  # made each time


def _check_token(engine: Engine, other_process: list[str] | None) -> None:
    """The token stays while nothing is written, and changes with each committed write: an
    insert, an update, then (given) another process's update."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (x integer)"))
    token = ChangeToken(engine)
    with engine.connect() as conn:
        before = token(conn)
        conn.execute(text("SELECT count(*) FROM probe")).scalar()
        assert before is not None and token(conn) == before
    seen = {before}
    for statement in ("INSERT INTO probe VALUES (1)", "UPDATE probe SET x = 2"):
        with engine.begin() as conn:
            conn.execute(text(statement))
        with engine.connect() as conn:
            now = token(conn)
        assert now not in seen
        seen.add(now)
    if other_process:
        subprocess.run(other_process, check=True)
        with engine.connect() as conn:
            assert token(conn) not in seen
    token.close()


def test_the_change_token_on_sqlite(tmp_path: Path) -> None:
    from syncline.adapters.db.engine import make_engine

    path = tmp_path / "t.db"
    engine = make_engine(f"sqlite:///{path}")
    _check_token(engine, [sys.executable, "-c", "import sqlite3; c = sqlite3.connect("
                          f"{str(path)!r}); c.execute('UPDATE probe SET x = 3'); c.commit()"])
    engine.dispose()


@pytest.mark.postgres
def test_the_change_token_on_postgresql() -> None:
    from syncline.adapters.db.engine import make_engine
    from syncline.adapters.db.scratch import throwaway_database

    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_token") as url:
            engine = make_engine(url)
            _check_token(engine, None)
            engine.dispose()
    finally:
        admin.dispose()
