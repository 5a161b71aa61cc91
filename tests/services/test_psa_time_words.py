"""The PSA's word on each time entry, kept by period (``psa_time_words``, ADR 0004): the close
reconciles a period's approved hours from it, never from the whole inbox, with the same
results; a rebuild from the inbox reproduces it.

Small firm (tests/builders): contract C-1 (US01, time and materials), worker W-1, task 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from syncline.adapters.db.close_tables import psa_time_words
from syncline.adapters.db.tables import inbox
from syncline.bootstrap import Syncline
from syncline.cli.main import app
from syncline.simulator import SimulationConfig, simulate
from tests.builders import deal, time_entry, worker
from tests.services.test_close_credit_notes import ingest, make_system
from tests.services.test_ledger_reconciliation_rules import diffs, recon, summary
from tests.test_ingest_cli import _ingest, _url

CHECK = "PSA approved = recorded hours"


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Syncline]:
    s = make_system(tmp_path, "on_invoice")
    yield s
    s.engine.dispose()


def test_the_check_reads_the_periods_words_not_the_raw_inbox(system: Syncline) -> None:
    """T-1 8 h on 5 January, T-2 6 h on 3 February, both applied. With the raw bodies of the
    applied approvals blanked out afterwards, January still expects 8 h (its word) = 8 h
    recorded: the check does not decode the inbox (the old read found no data and expected
    0 h)."""
    ingest(system, deal(), worker(), time_entry("T-1", hours="8", day="2026-01-05"),
           time_entry("T-2", hours="6", day="2026-02-03"))
    with system.engine.begin() as conn:
        conn.execute(update(inbox).where((inbox.c.type == "time.approved")
                                         & (inbox.c.status == "applied")).values(raw="{}"))

    (jan,) = summary(recon(system, "2026-01"), CHECK)
    (feb,) = summary(recon(system, "2026-02"), CHECK)

    assert (jan["expected"], jan["actual"], jan["status"]) == (Decimal("8"), Decimal("8"), "ok")
    assert (feb["expected"], feb["actual"], feb["status"]) == (Decimal("6"), Decimal("6"), "ok")


def test_a_correction_moving_an_entry_counts_in_its_new_month_only(system: Syncline) -> None:
    """T-1 is approved for 30 January (8 h, recorded), then the PSA approves it again dated
    2 February (the time entry is already recorded: the second approval applies without
    change). The PSA's word is the last applied approval, 2 February: January has nothing to
    reconcile (its January word is superseded), February expects 8 h against 0 h recorded in
    February and lists T-1."""
    ingest(system, deal(), worker(), time_entry("T-1", hours="8", day="2026-01-30"),
           time_entry("T-1", hours="8", day="2026-02-02"))

    jan, feb = recon(system, "2026-01"), recon(system, "2026-02")

    assert [(r["expected"], r["actual"]) for r in summary(jan, CHECK)] == [
        (Decimal("0"), Decimal("0"))]
    (row,) = summary(feb, CHECK)
    assert (row["expected"], row["actual"]) == (Decimal("8"), Decimal("0"))
    assert [d["id"] for d in diffs(feb, CHECK)] == ["T-1"]


def test_a_rejected_approval_and_a_withdrawal_are_words_too(system: Syncline) -> None:
    """T-1 (8 h, 5 January) applied, then rejected by the PSA: a word of kind rejected, and
    January's check leaves T-1 out (expected 0 = recorded 0, the entry is reversed)."""
    from tests.builders import event

    ingest(system, deal(), worker(), time_entry("T-1", hours="8"),
           event("time.rejected", "time/T-1", {"time_entry_id": "T-1", "reason": "wrong"},
                 source="psa/kantata", sequence=2, time="2026-01-07T10:00:00Z"))
    with system.engine.connect() as conn:
        kinds = sorted(conn.execute(select(psa_time_words.c.kind)).scalars())
    assert kinds == ["approved", "rejected"]
    assert diffs(recon(system, "2026-01"), CHECK) == []


def _words(db: Path) -> list[tuple[str | None, ...]]:
    from sqlalchemy import create_engine

    engine = create_engine(_url(db))
    try:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(select(
                psa_time_words.c.time_entry_id, psa_time_words.c.kind,
                psa_time_words.c.work_date, psa_time_words.c.project_code,
                psa_time_words.c.hours)))
    finally:
        engine.dispose()


def test_a_rebuild_reproduces_the_words_from_the_inbox(tmp_path: Path) -> None:
    """A simulated stream with duplicates, reordering and bad records: the rebuilt database
    holds the same words (inbox ids are the new database's own, so compared without them)."""
    live = tmp_path / "live.db"
    sim = simulate(SimulationConfig(seed=4, customers=3, workers=8, months=2,
                                    delivery_faults=True, data_faults=True))
    _ingest(live, sim.to_jsonl().encode())

    done = CliRunner().invoke(app, ["rebuild", "--to", _url(tmp_path / "r.db"), "-q",
                                    "--database-url", _url(live)])

    assert done.exit_code == 0, done.output
    words = _words(live)
    assert len(words) > 100 and words == _words(tmp_path / "r.db")
