"""Two `syncline ingest` processes on one SQLite file at once — each with half of a stream,
both starting on a file that does not exist yet — both succeed, and the state is exactly that
of one ingest of the whole stream (adapters/db/engine.py: every SQLite transaction takes the
write lock when it begins, so receivers and processors take turns instead of failing with
"database is locked" or a duplicate arrival number)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from syncline.adapters.db.engine import make_engine
from syncline.services.messaging.queues import queue_depths
from syncline.services.state import fingerprint
from syncline.simulator import SimulationConfig, simulate


def _ingest(stream: Path, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "syncline", "ingest", str(stream), "--database-url",
         f"sqlite:///{db}", "-q", "--no-deliver"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _state(db: Path) -> tuple[str, dict[str, int]]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return fingerprint(conn), queue_depths(conn)["inbox"]
    finally:
        engine.dispose()


def test_two_concurrent_ingests_of_halves_equal_one_ingest(tmp_path: Path) -> None:
    lines = simulate(SimulationConfig(seed=5, customers=6, workers=16, months=3,
                                      delivery_faults=True)).to_jsonl().splitlines()
    whole, odd, even = (tmp_path / n for n in ("all.jsonl", "odd.jsonl", "even.jsonl"))
    whole.write_text("\n".join(lines) + "\n")
    odd.write_text("\n".join(lines[0::2]) + "\n")  # the halves share deals, workers, projects
    even.write_text("\n".join(lines[1::2]) + "\n")

    shared = tmp_path / "shared.db"
    first, second = _ingest(odd, shared), _ingest(even, shared)
    for proc in (first, second):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    single = _ingest(whole, tmp_path / "single.db")
    _, err = single.communicate(timeout=300)
    assert single.returncode == 0, err[-3000:]

    shared_fp, shared_inbox = _state(shared)
    single_fp, single_inbox = _state(tmp_path / "single.db")
    assert shared_inbox == single_inbox
    assert shared_inbox["received"] == 0  # everything applied
    assert shared_fp == single_fp


def test_a_unit_of_work_holds_the_write_lock_from_its_begin_and_a_reader_does_not(
        tmp_path: Path) -> None:
    import sqlite3

    import pytest
    from sqlalchemy import text

    db = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))

    def try_write() -> None:
        other = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()

    # not a statement yet, and the unit of work already holds the lock
    with engine.begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
        try_write()
    with engine.connect() as reader:
        assert reader.execute(text("SELECT COUNT(*) FROM t")).scalar() == 0
        try_write()  # a reader's snapshot blocks nobody
        with engine.begin() as writer:  # nor this process's own unit of work
            writer.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()


def test_savepoints_roll_back_alone(tmp_path: Path) -> None:
    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 'sp.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        kept = conn.begin_nested()
        conn.execute(text("INSERT INTO t VALUES (2)"))
        kept.commit()
        dropped = conn.begin_nested()
        conn.execute(text("INSERT INTO t VALUES (3)"))
        dropped.rollback()
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT x FROM t ORDER BY x"))] == [1, 2]
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post_all(base: str, key: str, messages: list[dict[str, Any]]) -> list[str]:
    """Post ``messages`` one by one and in batches of 7, alternately; the answers that were
    neither 202 (stored) nor 200 (a duplicate: the stream's delivery faults send some twice)."""
    wrong = []
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
        i = 0
        while i < len(messages):
            size = 1 if (i // 7) % 2 == 0 else 7
            body = messages[i] if size == 1 else messages[i:i + size]
            answer = client.post("/v1/events", json=body)
            if answer.status_code not in (200, 202):
                wrong.append(f"{answer.status_code}: {answer.text[:300]}")
            i += size
    return wrong


def test_two_cli_ingests_and_http_posts_on_one_file_equal_one_ingest(tmp_path: Path) -> None:
    """Issue 10: two `syncline ingest` processes and a `syncline serve` taking HTTP posts
    (with its background worker applying) on one SQLite file at once: no error, and the
    state of one ingest of the whole stream. The thirds share deals, workers and projects,
    so messages of one subject arrive through different doors in any order."""
    lines = simulate(SimulationConfig(seed=9, customers=5, workers=12, months=2,
                                      delivery_faults=True)).to_jsonl().splitlines()
    whole, first_third, second_third = (tmp_path / n for n in ("all.jsonl", "a.jsonl",
                                                                "b.jsonl"))
    whole.write_text("\n".join(lines) + "\n")
    first_third.write_text("\n".join(lines[0::3]) + "\n")
    second_third.write_text("\n".join(lines[1::3]) + "\n")
    posted = [json.loads(line) for line in lines[2::3]]

    shared = tmp_path / "shared.db"
    key = "concurrency-test-key-0123456789ab"
    env = {**os.environ, "SYNCLINE_DATABASE_URL": f"sqlite:///{shared}",
           "SYNCLINE_API_KEYS": key, "SYNCLINE_RATE_LIMIT": "off",
           "SYNCLINE_LOG_LEVEL": "WARNING"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    errs = tmp_path / "serve.err"
    with errs.open("w") as stderr:
        api = subprocess.Popen([sys.executable, "-m", "syncline", "serve", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert api.poll() is None, errs.read_text()[-3000:]
            assert time.monotonic() < deadline, errs.read_text()[-3000:]
            time.sleep(0.2)
        ingests = [_ingest(first_third, shared), _ingest(second_third, shared)]
        wrong = _post_all(base, key, posted)
        for proc in ingests:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-3000:]
        assert wrong == []
        deadline = time.monotonic() + 120
        while _state(shared)[1]["received"]:  # serve's worker applies what is left
            assert time.monotonic() < deadline, errs.read_text()[-3000:]
            time.sleep(0.5)
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=30)
    assert "Traceback" not in errs.read_text()

    single = _ingest(whole, tmp_path / "single.db")
    _, err = single.communicate(timeout=300)
    assert single.returncode == 0, err[-3000:]
    shared_fp, shared_inbox = _state(shared)
    single_fp, single_inbox = _state(tmp_path / "single.db")
    assert shared_inbox == single_inbox
    assert shared_fp == single_fp
