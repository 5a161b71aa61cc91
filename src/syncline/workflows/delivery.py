"""Outbox delivery as DBOS workflows: workflows decide, steps act.

Workflow id = the outbox id (or the saga's group key), so starting the same delivery twice
returns the recorded result instead of sending again. Steps retry with backoff; a refusal
compensates the saga's earlier steps in reverse order and opens one exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID
from sqlalchemy import Engine, create_engine, event

from syncline import __version__
from syncline.services.clock import Clock, system_clock
from syncline.services.messaging import delivery


@dataclass
class _Wiring:
    engine: Engine | None = None
    targets: dict[str, delivery.Target] = field(default_factory=dict)
    clock: Clock = system_clock
    system_url: str | None = None
    app_version: str | None = None


_wiring = _Wiring()
DEFAULT_VERSION = f"syncline-{__version__}"  # Settings.workflow_version() without a setting


def _engine() -> Engine:
    assert _wiring.engine is not None, "call launch() first"
    return _wiring.engine


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=0.05, backoff_rate=2.0)
def send_step(outbox_id: str) -> str:
    try:
        return delivery.send(_engine(), _wiring.targets, outbox_id)
    except delivery.Refused as err:
        return f"refused: {err}"  # recorded as the step's output: never retried


@DBOS.step()
def mark_delivered_step(outbox_id: str, reference: str | None = None) -> None:
    """Delivered, with the send step's reference (its recorded output: the same after a
    recovery) and the cross-reference link, in one transaction."""
    delivery.mark_delivered(_engine(), outbox_id, _wiring.clock, reference, _wiring.targets)


@DBOS.step()
def mark_failed_step(outbox_id: str, error: str) -> str:
    return delivery.mark_failed(_engine(), outbox_id, error, _wiring.clock)


@DBOS.step()
def compensate_step(outbox_id: str) -> None:
    delivery.compensate(_engine(), _wiring.targets, outbox_id)


@DBOS.workflow()
def deliver_group(outbox_ids: list[str]) -> str:
    done: list[str] = []
    for oid in outbox_ids:
        try:
            result = send_step(oid)
        except Exception as err:  # retries exhausted
            result = f"refused: gave up after retries: {err}"
        if result.startswith("refused: "):
            for prev in reversed(done):
                compensate_step(prev)
            mark_failed_step(oid, result.removeprefix("refused: "))
            return "failed"
        mark_delivered_step(oid, result)
        done.append(oid)
    return "delivered"


def system_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # DBOS's own settings, plus WAL
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    return engine


def launch(engine: Engine, targets: dict[str, delivery.Target], system_url: str,
           clock: Clock = system_clock, *, app_version: str = DEFAULT_VERSION) -> None:
    """Configure and launch DBOS once per process (relaunch if the system database or the
    version changes). ``app_version`` is the deployment's (Settings.workflow_version): at
    launch DBOS recovers the interrupted workflows of this version and executor only
    (docs/operations.md, "Deploying")."""
    _wiring.engine, _wiring.targets, _wiring.clock = engine, targets, clock
    if _wiring.system_url == system_url and _wiring.app_version == app_version:
        return
    if _wiring.system_url is not None:
        DBOS.destroy(destroy_registry=False)
    config: DBOSConfig = {
        "name": "syncline",
        "system_database_url": system_url,
        "run_admin_server": False,
        "application_version": app_version,  # explicit, never DBOS's hash of the source
        "log_level": "WARNING",
    }
    if system_url.startswith("sqlite"):
        config["system_database_engine"] = system_engine(system_url)
    from syncline.workflows import connectors  # noqa: F401  (its workflows, registered first)

    DBOS(config=config)
    DBOS.launch()
    _wiring.system_url, _wiring.app_version = system_url, app_version


def shutdown() -> None:
    if _wiring.system_url is not None:
        DBOS.destroy(destroy_registry=False)
        _wiring.system_url = _wiring.app_version = None


# -- versions: who may run a workflow met by its id (workflows/versions.py explains) ----

IN_FLIGHT = ("PENDING", "ENQUEUED", "DELAYED")


def current_version() -> str:
    return _wiring.app_version or DEFAULT_VERSION


def _forks(workflow_id: str) -> list[Any]:
    return sorted(DBOS.list_workflows(forked_from=workflow_id, load_input=False,
                                      load_output=False),
                  key=lambda w: w.created_at or 0)


def standing(workflow_id: str) -> Any | None:
    """The workflow that stands for ``workflow_id`` now: itself, or — when an operator
    resumed it — the latest fork down the chain. None when there is none."""
    found = DBOS.get_workflow_status(workflow_id)
    seen = {workflow_id}
    while found is not None and found.status == "CANCELLED":
        forks = _forks(found.workflow_id)
        if not forks or forks[-1].workflow_id in seen:
            break
        seen.add(forks[-1].workflow_id)
        found = DBOS.get_workflow_status(forks[-1].workflow_id)
    return found


def held(workflow_id: str) -> Any | None:
    """The status that keeps this process from starting or joining ``workflow_id``: in
    flight under another version, cancelled, or handed to a fork; None when it may run
    (it does not exist, it finished, or it is this version's to run or recover)."""
    found = DBOS.get_workflow_status(workflow_id)
    if found is None or found.status in ("SUCCESS", "ERROR"):
        return None
    if found.status in IN_FLIGHT and found.app_version == current_version():
        return None
    return standing(workflow_id)


def deliver_pending(engine: Engine, *, progress: Any = None) -> dict[str, int]:
    """Start (or join) one workflow per pending saga/row; wait for each. A saga whose
    workflow is in flight under another application version (or was handed to a fork by
    `syncline workflows resume`) is left alone and counted ``held``: joining it would wait
    for a process of that version, and running it here could run it twice."""
    counts = {"delivered": 0, "failed": 0}
    for key, ids in delivery.groups(delivery.pending(engine)):
        if held(f"deliver:{key}") is not None:
            counts["held"] = counts.get("held", 0) + len(ids)
            continue
        with SetWorkflowID(f"deliver:{key}"):
            outcome = deliver_group(ids)
        counts[outcome] = counts.get(outcome, 0) + len(ids)
        if progress:
            progress(len(ids))
    return counts
