"""Several `syncline worker` processes on one PostgreSQL database (docs/scale-out.md).

Real processes on a fresh database each: 1, 2 and 4 workers give the state the single-process
SQLite run of the same stream gives; the messages of one subject are applied in arrival order
whichever worker takes them; a worker killed with SIGKILL, or frozen past its lease, loses
nothing and applies nothing twice; `serve --no-worker` leaves applying to a worker process
and never prints its generated API key on standard output.

A trigger (test only) logs every transition of an inbox row to ``applied`` with the backend
that made it and the clock time, so the order and the number of applications can be read
back. Skipped with a reason when no PostgreSQL answers off CI; under CI=true that fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from syncline.adapters.db.scratch import throwaway_database
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.queues import queue_depths
from syncline.services.state import fingerprint
from syncline.simulator import SimulationConfig, simulate
from tests.builders import deal, event, time_entry, worker
from tests.conftest import fixed_clock, pg_admin

PERIODS = ("2026-01", "2026-02", "2026-03")
CONFIG = SimulationConfig(seed=21, customers=6, workers=24, months=3, delivery_faults=True)

pytestmark = pytest.mark.postgres


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new database on the local server (dropped afterwards): its URL."""
    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_workers") as url:
            yield url
    finally:
        admin.dispose()


APPLY_LOG = """
CREATE TABLE apply_log (id bigserial PRIMARY KEY, inbox_id text, seq bigint, subject text,
                        pid int, at timestamptz);
CREATE FUNCTION log_apply() RETURNS trigger AS $$
BEGIN
  IF NEW.status = 'applied' AND OLD.status IS DISTINCT FROM 'applied' THEN
    INSERT INTO apply_log (inbox_id, seq, subject, pid, at)
    VALUES (NEW.id, NEW.seq, NEW.subject, pg_backend_pid(), clock_timestamp());
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER inbox_apply_log AFTER UPDATE ON inbox FOR EACH ROW EXECUTE FUNCTION log_apply();
"""


def pg_system(url: str) -> Syncline:
    system = bootstrap(Settings(database_url=url), clock=fixed_clock, durable=False)
    with system.engine.begin() as conn:
        conn.exec_driver_sql(APPLY_LOG)
    return system


def receive(system: Syncline, lines: list[Any], chunk: int = 500) -> None:
    for start in range(0, len(lines), chunk):
        with system.engine.begin() as conn:
            receive_many(conn, lines[start:start + chunk], now=fixed_clock())


def settled_state(system: Syncline) -> str:
    """Bill every month, then the fingerprint (invoices depend on everything applied)."""
    for period in PERIODS:
        run_billing(system.engine, period, system.ref, system.charts, fixed_clock())
    with system.engine.connect() as conn:
        return fingerprint(conn)


@pytest.fixture(scope="module")
def stream() -> list[str]:
    return simulate(CONFIG).to_jsonl().splitlines()


@pytest.fixture(scope="module")
def sqlite_state(stream: list[str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The reference: one process, SQLite, the same stream in the same arrival order."""
    db = tmp_path_factory.mktemp("reference") / "one.db"
    system = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                       durable=False)
    receive(system, stream)
    system.process()
    state = settled_state(system)
    system.engine.dispose()
    return state


def start_worker(url: str, *args: str, batch: int | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "SYNCLINE_DATABASE_URL": url}
    if batch is not None:
        env["SYNCLINE_BATCH_SIZE"] = str(batch)
    # its JSON logs (a line a message) go to a file: a pipe nobody drains while the worker
    # runs would fill and block it mid-batch, holding its lease
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 (read and closed by finish)
    proc = subprocess.Popen([sys.executable, "-m", "syncline", "worker", "--no-deliver", *args],
                            stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
    proc.errors = errors  # type: ignore[attr-defined]
    return proc


def stop(proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """SIGTERM, once the worker says it is applying: its handler (finish the batch, then
    exit 0) is installed by then. A worker restarted a moment ago may still be importing,
    and SIGTERM's default action would end it with -15 — the test's race, not the worker's."""
    errors = getattr(proc, "errors", None)
    deadline = time.monotonic() + timeout
    while errors is not None and proc.poll() is None and time.monotonic() < deadline:
        errors.seek(0)
        if "applying on" in errors.read():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)


def _stderr(proc: subprocess.Popen[str]) -> str:
    errors = getattr(proc, "errors", None)
    if errors is None:
        return ""
    errors.seek(0)
    text_ = str(errors.read())
    errors.close()
    return text_


def finish(procs: list[subprocess.Popen[str]], timeout: float = 300) -> list[dict[str, Any]]:
    """Wait for worker processes; each must exit 0 and print its JSON summary. Their pipes
    are drained at once (a thread each): a worker blocked writing its logs to a full pipe
    would hold its lease and stall the others."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, len(procs))) as pool:
        answers = list(pool.map(lambda p: p.communicate(timeout=timeout), procs))
    out = []
    for proc, (stdout, _) in zip(procs, answers, strict=True):
        assert proc.returncode == 0, _stderr(proc)[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def applications(system: Syncline) -> list[Any]:
    with system.engine.connect() as conn:
        return conn.execute(text(
            "SELECT l.inbox_id, l.seq, l.subject, l.pid, l.at, i.type FROM apply_log l "
            "JOIN inbox i ON i.id = l.inbox_id ORDER BY l.at, l.id")).all()


def never_parked_twice_applied(system: Syncline) -> list[str]:
    """Messages applied more than once without being released in between (must be none)."""
    with system.engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT l.inbox_id FROM apply_log l GROUP BY l.inbox_id HAVING count(*) > 1 + "
            "(SELECT count(*) FROM parked p WHERE p.inbox_id = l.inbox_id "
            "AND p.released_at IS NOT NULL)")).scalars())


def assert_order_per_subject(system: Syncline) -> None:
    """For each subject none of whose messages waited (parked), the messages were applied
    in arrival order."""
    with system.engine.connect() as conn:
        waited = {s for s, in conn.execute(text(
            "SELECT DISTINCT i.subject FROM parked p JOIN inbox i ON i.id = p.inbox_id"))}
    by_subject: dict[str, list[int]] = {}
    for row in applications(system):
        if row.subject and row.subject not in waited:
            by_subject.setdefault(row.subject, []).append(row.seq)
    assert by_subject
    out_of_order = {s: seqs for s, seqs in by_subject.items() if seqs != sorted(seqs)}
    assert not out_of_order


def wait_until_settled(system: Syncline, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        with system.engine.connect() as conn:
            depths = queue_depths(conn)
        if depths["inbox"]["received"] == 0:
            return depths
        assert time.monotonic() < deadline, f"not settled: {depths}"
        time.sleep(0.2)


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_worker_processes_give_the_single_process_sqlite_state(
        workers: int, stream: list[str], sqlite_state: str) -> None:
    with fresh_database() as url:
        system = pg_system(url)
        receive(system, stream)
        summaries = finish([start_worker(url, "--once", batch=200) for _ in range(workers)])
        with system.engine.connect() as conn:
            depths = queue_depths(conn)
        assert depths["inbox"]["received"] == 0
        assert sum(s["applied"] for s in summaries) >= depths["inbox"]["applied"]
        assert never_parked_twice_applied(system) == []
        assert_order_per_subject(system)
        assert settled_state(system) == sqlite_state
        system.engine.dispose()


def test_one_subjects_messages_apply_in_arrival_order_across_workers() -> None:
    """Thirty sequenced completions of one milestone spread among 600 time entries, batches
    of 20, four workers: every completion applied (an older sequence applied after a newer one
    would be recorded stale), in arrival order, and more than one worker process took part."""
    setup = [deal("D-1", number="C-1", project="P-1", billing_type="fixed_fee",
                  amount="10000.00", milestones=[{"milestone_id": "M-1", "name": "Go-live",
                                                  "amount": "10000.00"}]),
             *(worker(f"W-{w}") for w in range(1, 6))]
    rng = random.Random(5)
    entries = [time_entry(f"TE-{i}", worker_id=f"W-{i % 5 + 1}", day="2026-01-06")
               for i in range(600)]
    completions = [event("milestone.completed", "milestone/M-1", {
        "milestone_id": "M-1", "project_code": "P-1", "completed_on": "2026-01-20",
        "evidence": {"accepted_by": f"customer {n}"}}, sequence=n) for n in range(1, 31)]
    spots = sorted(rng.sample(range(len(entries)), len(completions)))
    body: list[Any] = []
    for i, entry in enumerate(entries):
        body.append(entry)
        while completions and spots and spots[0] == i:
            spots.pop(0)
            body.append(completions.pop(0))
    with fresh_database() as url:
        system = pg_system(url)
        receive(system, setup)
        receive(system, body, chunk=50)
        finish([start_worker(url, "--once", batch=20) for _ in range(4)])
        with system.engine.connect() as conn:
            statuses = dict(conn.execute(text(
                "SELECT status, count(*) FROM inbox WHERE subject = 'milestone/M-1' "
                "GROUP BY status")).all())
        assert statuses == {"applied": 30}
        rows = [r for r in applications(system) if r.subject == "milestone/M-1"]
        assert [r.seq for r in rows] == sorted(r.seq for r in rows)
        pids = {r.pid for r in applications(system)}
        assert len(pids) > 1, "one worker took every batch"
        system.engine.dispose()


def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
        stream: list[str], sqlite_state: str) -> None:
    """Three workers run while the stream arrives in chunks; one at a time is killed with
    SIGKILL at random moments (mid-batch, most of the time) and started again. Its batch is
    rolled back and taken by another worker: the final state is the single-process one."""
    rng = random.Random(11)
    with fresh_database() as url:
        system = pg_system(url)
        procs = [start_worker(url, "--idle", "0.05", batch=25) for _ in range(3)]
        kills = 0
        try:
            for start in range(0, len(stream), 80):
                receive(system, stream[start:start + 80], chunk=80)
                time.sleep(rng.uniform(0.05, 0.4))
                if start // 80 % 2 == 1:
                    victim = rng.randrange(len(procs))
                    procs[victim].send_signal(signal.SIGKILL)
                    procs[victim].communicate(timeout=30)
                    kills += 1
                    procs[victim] = start_worker(url, "--idle", "0.05", batch=25)
            wait_until_settled(system)
        finally:
            for proc in procs:
                stop(proc)
        summaries = finish(procs, timeout=60)
        assert all(s["stopped"] for s in summaries)
        assert kills >= 3
        assert never_parked_twice_applied(system) == []
        assert_order_per_subject(system)
        assert settled_state(system) == sqlite_state
        system.engine.dispose()


def test_a_frozen_worker_loses_its_lease_and_the_others_go_on(
        stream: list[str], sqlite_state: str) -> None:
    """A worker stopped with SIGSTOP holds its batch's leases until its lease (2 s idle in
    the transaction) runs out; then the server ends its transaction and the others take the
    messages. Woken again, its batch cannot commit (its session is gone), so nothing is
    applied twice."""
    with fresh_database() as url:
        system = pg_system(url)
        receive(system, stream)
        frozen = start_worker(url, "--idle", "0.05", "--lease-seconds", "2", batch=25)
        deadline = time.monotonic() + 60
        while not applications(system):  # it is applying: most of its time is in a batch
            assert frozen.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        frozen.send_signal(signal.SIGSTOP)
        others = [start_worker(url, "--once", "--lease-seconds", "2", batch=25)
                  for _ in range(2)]
        try:
            finish(others)
            with system.engine.connect() as conn:
                assert queue_depths(conn)["inbox"]["received"] == 0
        finally:
            frozen.send_signal(signal.SIGCONT)
            frozen.send_signal(signal.SIGTERM)
        finish([frozen], timeout=60)
        assert never_parked_twice_applied(system) == []
        assert settled_state(system) == sqlite_state
        system.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_without_worker_leaves_applying_to_a_worker_process(tmp_path: Path) -> None:
    """The deployment of docs/scale-out.md in small: `serve --no-worker` stores what is
    posted, a `syncline worker` applies it. With no SYNCLINE_API_KEYS the API makes a key
    of its own and says it on standard error, never on standard output."""
    with fresh_database() as url:
        system = pg_system(url)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if k != "SYNCLINE_API_KEYS"}
        env["SYNCLINE_DATABASE_URL"] = url
        out, errs = tmp_path / "serve.out", tmp_path / "serve.err"
        with out.open("w") as stdout, errs.open("w") as stderr:
            api = subprocess.Popen([sys.executable, "-m", "syncline", "serve", "--no-worker",
                                    "--port", str(port)], stdout=stdout, stderr=stderr,
                                   env=env, text=True)
        worker_proc = None
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            key = None
            while key is None:
                assert api.poll() is None, errs.read_text()
                assert time.monotonic() < deadline, errs.read_text()
                for word in errs.read_text().split():
                    if len(word) == 32 and word.replace("-", "").replace("_", "").isalnum():
                        key = word
                time.sleep(0.2)
            while True:
                try:
                    if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, errs.read_text()
                time.sleep(0.2)
            posted = [deal("D-9", number="C-9", project="P-9"), worker("W-9"),
                      time_entry("TE-9", worker_id="W-9", project="P-9")]
            answer = httpx.post(f"{base}/v1/events", json=posted, headers={"X-API-Key": key},
                                timeout=30)
            assert answer.status_code == 202, answer.text
            time.sleep(1.0)
            with system.engine.connect() as conn:  # nobody applies in the API process
                assert queue_depths(conn)["inbox"]["received"] == 3
            worker_proc = start_worker(url, "--once")
            finish([worker_proc])
            worker_proc = None
            with system.engine.connect() as conn:
                assert queue_depths(conn)["inbox"]["applied"] == 3
        finally:
            api.send_signal(signal.SIGTERM)
            api.wait(timeout=30)
            if worker_proc is not None:
                worker_proc.kill()
        assert key not in out.read_text()
        system.engine.dispose()


def test_the_compose_files_commands_are_commands_of_this_cli() -> None:
    """deploy/compose.yaml runs `syncline <command>` in every Syncline service: each must
    parse (a renamed option fails here, not in a deployment)."""
    import yaml
    from typer.testing import CliRunner

    from syncline.cli.main import app

    compose = yaml.safe_load((Path(__file__).parents[2] / "deploy" / "compose.yaml")
                             .read_text(encoding="utf-8"))
    commands = {name: service["command"] for name, service in compose["services"].items()
                if "build" in service}
    assert set(commands) == {"api", "worker", "deliverer", "ingress"}
    for name, command in commands.items():
        result = CliRunner().invoke(app, [*command, "--help"])
        assert result.exit_code == 0, f"{name}: {result.output}"


def test_a_session_stalled_inside_a_pipeline_is_ended_by_a_blocked_worker() -> None:
    """A worker stopped while it sends a pipeline (psycopg's executemany) leaves its session
    *active*, waiting for the client: PostgreSQL's idle-in-transaction timeout never fires,
    so its lease would never run out. `leases.end_stalled` ends such a session once it has
    waited longer than the lease; a session waiting less is left alone."""
    import psycopg

    from syncline.services.messaging import leases

    with fresh_database() as url:
        system = pg_system(url)
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        stalled = psycopg.connect(dsn)
        pid = stalled.info.backend_pid
        with stalled.cursor() as cur:
            cur.execute("SELECT set_config('idle_in_transaction_session_timeout', '1s', true)")
            cur.execute("SELECT pg_advisory_xact_lock(1, 2)")  # a lease it holds
        pg = stalled.pgconn
        pg.enter_pipeline_mode()
        pg.send_query_params(b"SELECT 1", None)  # sent, no Sync: the server waits
        pg.flush()
        try:
            time.sleep(1.5)  # past the idle timeout: it would have ended an idle session
            with system.engine.connect() as conn:
                state = conn.execute(text("SELECT state FROM pg_stat_activity WHERE pid = :p"),
                                     {"p": pid}).scalar()
                assert state == "active"  # not idle: the timeout does not apply
            with system.engine.begin() as conn:
                assert leases.end_stalled(conn, 60) == []  # waiting less than a lease
            with system.engine.begin() as conn:
                assert leases.end_stalled(conn, 1) == [pid]
            deadline = time.monotonic() + 10
            with system.engine.connect() as conn:
                while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                                   {"p": pid}).scalar():
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                    conn.rollback()
                assert conn.execute(text("SELECT pg_try_advisory_lock(1, 2)")).scalar()
        finally:
            with contextlib.suppress(Exception):
                stalled.close()
            system.engine.dispose()
