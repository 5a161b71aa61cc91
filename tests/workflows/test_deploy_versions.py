"""Durable workflows across a deploy (issue 10): work in flight when a process dies is
neither stranded nor run twice, whether the next process runs the same application version
or a new one (docs/operations.md, "Deploying"; DBOS recovers only its own version's work).

A deal's provisioning saga (ERP customer → PSA project → PSA budget, one DBOS workflow
``deliver:provision:D-1``) and the CRM's status of the deal (a workflow of its own) are
delivered by a process that is killed with SIGKILL as the saga sends its second document:
the customer was sent and recorded (step outputs checkpointed), the project not. The sandbox
targets count what each document received (``sandbox_received.deliveries``), so "once" is
exactly 1 for every one of the four documents.

- Same version: `syncline worker --once` recovers the saga at launch (DBOS recovery), sends
  the project and the budget, never the customer again.
- New version: `syncline worker --once` does not recover it (other version), does not wait
  for it (it would hang) and does not send it (it could run twice): the two documents are
  left pending and counted ``held``; `syncline workflows list` shows the workflow PENDING
  under the old version; `syncline workflows resume` cancels it and forks it under the new
  version from the step after the last recorded one: the project and budget are sent once;
  a process of the old version started afterwards recovers nothing.
- A close interrupted under one version is refused by a close under another (not run twice,
  not waited for) and resumed by the operator without redoing its recorded steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.connector_tables import sandbox_received
from syncline.adapters.db.tables import invoices, outbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.ledger.periods import status_of
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not hasattr(os, "kill"), reason="needs POSIX signals")]
ROOT = Path(__file__).parents[2]
SAGA = "deliver:provision:D-1"

# deliver the outbox, the process killing itself (SIGKILL) as the second document is sent
KILLED_MID_SAGA = """
import os, signal, sys
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.connectors.sandbox import sandbox_targets

class KilledOnSecond:
    sent = 0
    def __init__(self, inner):
        self.inner, self.name = inner, inner.name
    def deliver(self, kind, payload, key):
        KilledOnSecond.sent += 1
        if KilledOnSecond.sent == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.deliver(kind, payload, key)
    def compensate(self, kind, payload, key):
        return self.inner.compensate(kind, payload, key)

system = bootstrap(Settings(database_url=sys.argv[1]))
system.targets = {k: KilledOnSecond(v) for k, v in sandbox_targets(system.engine).items()}
system.deliver()
"""


def _env(version: str) -> dict[str, str]:
    return {**os.environ, "SYNCLINE_APP_VERSION": version,
            "SYNCLINE_CLI_ROLES": "finance,controller,billing,admin",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


def _url(db: Path) -> str:
    return f"sqlite:///{db}"


def _syncline(db: Path, version: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "syncline", *args, "--database-url",
                           _url(db)], capture_output=True, text=True, timeout=180,
                          env=_env(version), cwd=ROOT)


def _crashed_mid_saga(tmp_path: Path, version: str) -> Path:
    db = tmp_path / "deploy.db"
    system = bootstrap(Settings(database_url=_url(db)), clock=fixed_clock, durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, [deal()], now=fixed_clock())
    system.process()
    system.engine.dispose()
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_SAGA, _url(db)],
                            capture_output=True, text=True, timeout=180,
                            env=_env(version), cwd=ROOT)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _received(db) == {"erp.customer.upsert": 1}  # the first sent, the second not
    return db


def _received(db: Path) -> dict[str, int]:
    system = bootstrap(Settings(database_url=_url(db)), durable=False)
    with system.engine.connect() as conn:
        got = {r.kind: r.deliveries for r in conn.execute(select(sandbox_received))}
    system.engine.dispose()
    return got


def _outbox(db: Path) -> dict[str, str]:
    system = bootstrap(Settings(database_url=_url(db)), durable=False)
    with system.engine.connect() as conn:
        got = {r.kind: r.status for r in conn.execute(select(outbox.c.kind, outbox.c.status))}
    system.engine.dispose()
    return got


def _worker_once(db: Path, version: str) -> dict[str, Any]:
    run = _syncline(db, version, "worker", "--once")
    assert run.returncode == 0, run.stderr[-2000:]
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def _workflows(db: Path, version: str, every: bool = False) -> dict[str, Any]:
    run = _syncline(db, version, "workflows", "list", "--json", *(["--all"] if every else []))
    assert run.returncode == 0, run.stderr[-2000:]
    return {w["workflow_id"]: w for w in json.loads(run.stdout)["workflows"]}


EVERY_DOCUMENT_ONCE = {"erp.customer.upsert": 1, "psa.project.provision": 1,
                       "psa.budget.update": 1, "crm.status.update": 1}


def test_the_same_version_resumes_the_interrupted_saga_once(tmp_path: Path) -> None:
    db = _crashed_mid_saga(tmp_path, "syncline-test-1")
    assert _workflows(db, "syncline-test-1")[SAGA]["status"] == "PENDING"

    _worker_once(db, "syncline-test-1")  # recovered at launch, then the rest delivered

    assert _received(db) == EVERY_DOCUMENT_ONCE
    assert set(_outbox(db).values()) == {"delivered"}
    saga = _workflows(db, "syncline-test-1", every=True)[SAGA]
    assert saga["status"] == "SUCCESS" and saga["recovery_attempts"] == 2  # resumed, once


def test_a_new_version_leaves_it_visible_and_the_operator_resumes_it_once(
        tmp_path: Path) -> None:
    db = _crashed_mid_saga(tmp_path, "syncline-test-1")

    # the new version: not recovered, not waited for, not sent — held, and visible
    _worker_once(db, "syncline-test-2")
    assert _received(db) == {"erp.customer.upsert": 1, "crm.status.update": 1}
    assert _outbox(db)["psa.project.provision"] == "pending"
    listed = _workflows(db, "syncline-test-2")
    assert list(listed) == [SAGA]
    assert listed[SAGA]["status"] == "PENDING" and listed[SAGA]["app_version"] == \
        "syncline-test-1" and listed[SAGA]["this_version"] is False

    resumed = _syncline(db, "syncline-test-2", "workflows", "resume", SAGA, "--json")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    answer = json.loads(resumed.stdout)
    assert answer["status"] == "SUCCESS" and answer["result"] == "delivered"
    assert answer["from_version"] == "syncline-test-1" and answer["resumed_as"] != SAGA
    assert _received(db) == EVERY_DOCUMENT_ONCE
    assert set(_outbox(db).values()) == {"delivered"}

    # the old version started again: nothing to recover (cancelled), nothing sent twice
    _worker_once(db, "syncline-test-1")
    _worker_once(db, "syncline-test-2")
    assert _received(db) == EVERY_DOCUMENT_ONCE
    every = _workflows(db, "syncline-test-2", every=True)
    assert every[SAGA]["status"] == "CANCELLED"
    assert every[answer["resumed_as"]]["forked_from"] == SAGA
    assert _workflows(db, "syncline-test-2") == {}  # nothing in flight


def test_a_resume_of_a_finished_workflow_is_refused(tmp_path: Path) -> None:
    db = _crashed_mid_saga(tmp_path, "syncline-test-1")
    _worker_once(db, "syncline-test-1")
    again = _syncline(db, "syncline-test-2", "workflows", "resume", SAGA)
    assert again.returncode == 2 and "SUCCESS" in again.stderr
    assert _received(db) == EVERY_DOCUMENT_ONCE


def test_a_close_interrupted_under_one_version_is_refused_by_another_then_resumed(
        tmp_path: Path) -> None:
    db = tmp_path / "close.db"
    system = bootstrap(Settings(database_url=_url(db)), clock=fixed_clock)
    with system.engine.begin() as conn:
        receive_many(conn, [deal(), worker(), time_entry("T-1"),
                            time_entry("T-2", day="2026-01-06")], now=fixed_clock())
    system.engine.dispose()
    script = textwrap.dedent(f"""
        from syncline.bootstrap import bootstrap
        from syncline.config import Settings
        from syncline.workflows import close
        system = bootstrap(Settings(database_url="{_url(db)}"))
        close._w.crash_after = "billing"
        close.run_close(system, "2026-01", actor="controller")
    """)
    crashed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=180, env=_env("syncline-test-1"), cwd=ROOT)
    assert crashed.returncode == 70, crashed.stderr[-2000:]

    refused = _syncline(db, "syncline-test-2", "close", "--period", "2026-01")
    assert refused.returncode == 2, refused.stdout[-2000:] + refused.stderr[-2000:]
    assert "syncline-test-1" in refused.stderr and "workflows resume" in refused.stderr
    listed = _workflows(db, "syncline-test-2")
    (close_id,) = [w for w in listed if w.startswith("close:")]

    resumed = _syncline(db, "syncline-test-2", "workflows", "resume", close_id, "--json")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    result = json.loads(resumed.stdout)["result"]
    assert result["billing"]["invoices"] == 1 and result["locked"] is True
    system = bootstrap(Settings(database_url=_url(db)), clock=fixed_clock, durable=False)
    with system.engine.connect() as conn:
        assert len(conn.execute(select(invoices)).all()) == 1  # billed once
        assert status_of(conn, "US01", "2026-01").value == "locked"
    system.engine.dispose()
    # closing again under the new version returns the resumed close's result, runs nothing
    again = _syncline(db, "syncline-test-2", "close", "--period", "2026-01", "--json")
    assert again.returncode == 0, again.stderr[-2000:]
