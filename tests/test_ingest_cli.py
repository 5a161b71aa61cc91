"""The command line around ingest: streaming from stdin, `status`, `rebuild`, and a demo that
only ever deletes a database it made itself."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from syncline.adapters.db.engine import make_engine
from syncline.bootstrap import bootstrap
from syncline.cli.demo import made_by_demo, stamp_demo
from syncline.cli.main import app
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from syncline.services.state import fingerprint
from syncline.simulator import SimulationConfig, simulate
from tests.builders import deal, time_entry, worker

runner = CliRunner()


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _fingerprint(path: Path) -> str:
    engine = make_engine(_url(path))
    try:
        with engine.connect() as conn:
            return fingerprint(conn)
    finally:
        engine.dispose()


def _ingest(db: Path, stream: bytes) -> None:
    done = runner.invoke(app, ["ingest", "-", "--database-url", _url(db), "-q",
                               "--no-deliver"], input=stream)
    assert done.exit_code == 0, done.output


def test_ingest_streams_stdin_line_by_line_and_status_shows_the_queues(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    lines = [json.dumps(m).encode() for m in (deal(), worker(), time_entry("T-1"),
                                              time_entry("T-2", project="P-404"))]
    stream = (lines[0] + b"\r\n" + b"\n" + lines[1] + b"\n" + b'{"id": "x\xff"}\n'
              + lines[2] + b"\n" + lines[3])  # CRLF, a blank line, bytes that are no UTF-8
    _ingest(db, stream)

    done = runner.invoke(app, ["status", "--json", "--database-url", _url(db)])
    assert done.exit_code == 0, done.output
    status = json.loads(done.output)
    assert status["state_fingerprint"] == _fingerprint(db)
    assert status["inbox"] == {"received": 0, "applied": 3, "parked": 1, "stale": 0,
                               "failed": 0, "rejected": 1}
    assert status["deliveries"] == 5
    assert status["parked_waiting"] == 1  # the time entry for project P-404
    # the undecodable line; the parked entry, older than the park limit when ingest sweeps
    assert status["exceptions_open"] == {"it": 1, "pmo": 1}
    assert status["outbox_pending"] == status["outbox"]["pending"] > 0

    table = runner.invoke(app, ["status", "--database-url", _url(db)])
    assert table.exit_code == 0 and status["state_fingerprint"] in table.output.replace(
        "\n", "").replace("│", "").replace(" ", "")


def test_status_of_a_database_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    done = runner.invoke(app, ["status", "--database-url", _url(tmp_path / "none.db")])
    assert done.exit_code == 1
    assert not (tmp_path / "none.db").exists()


def test_rebuild_replays_the_inbox_log_into_a_fresh_database(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    sim = simulate(SimulationConfig(seed=4, customers=3, workers=8, months=2,
                                    delivery_faults=True, data_faults=True))
    _ingest(live, sim.to_jsonl().encode())

    done = runner.invoke(app, ["rebuild", "--to", _url(tmp_path / "r1.db"), "-q",
                               "--database-url", _url(live)])
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert result["same"] and result["live"] == result["rebuilt"] == _fingerprint(live)

    again = runner.invoke(app, ["rebuild", "--to", _url(tmp_path / "r1.db"), "-q",
                                "--database-url", _url(live)])
    assert again.exit_code == 2  # only into a fresh database

    system = bootstrap(Settings(database_url=_url(live)), durable=False)
    run_billing(system.engine, "2026-01", system.ref, system.charts, system.clock())
    system.engine.dispose()  # invoices are an operator's run, not in the inbox log
    differs = runner.invoke(app, ["rebuild", "--to", _url(tmp_path / "r2.db"), "-q",
                                  "--database-url", _url(live)])
    assert differs.exit_code == 1, differs.output
    assert "invoices" in json.loads(differs.output)["differs"]


def _row_count(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])
    finally:
        con.close()


def test_demo_never_deletes_a_database_it_did_not_make(tmp_path: Path) -> None:
    db = tmp_path / "real.db"
    _ingest(db, json.dumps(deal()).encode())

    refused = runner.invoke(app, ["demo", "--database-url", _url(db)])
    assert refused.exit_code == 2
    assert "not created by `syncline demo`" in refused.output
    assert _row_count(db) == 1

    bad_args = runner.invoke(app, ["demo", "--months", "0", "--database-url", _url(db)])
    assert bad_args.exit_code == 2 and "months" in bad_args.output  # arguments first
    fresh = tmp_path / "fresh.db"
    runner.invoke(app, ["demo", "--months", "0", "--database-url", _url(fresh)])
    assert not fresh.exists()
    assert _row_count(db) == 1


def test_demo_recreates_the_database_it_made(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    stamp_demo(db)  # as a previous demo run left it, with something ingested since
    _ingest(db, b"\n".join(json.dumps(m).encode() for m in (deal(), worker())))
    assert made_by_demo(db) and _row_count(db) == 2
    done = subprocess.run(
        [sys.executable, "-m", "syncline", "demo", "--json", "--customers", "2", "--workers",
         "4", "--months", "1", "--database-url", _url(db)],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert made_by_demo(db)
    assert _row_count(db) == summary["events_received"] - summary["duplicates_ignored"]
    con = sqlite3.connect(db)
    try:  # the deal ingested into the old file is gone with it
        assert "D-1" not in {r[0] for r in con.execute("SELECT deal_id FROM contracts")}
    finally:
        con.close()
