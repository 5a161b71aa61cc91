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

from syncline.services.clock import Clock, system_clock
from syncline.services.messaging import delivery


@dataclass
class _Wiring:
    engine: Engine | None = None
    targets: dict[str, delivery.Target] = field(default_factory=dict)
    clock: Clock = system_clock
    system_url: str | None = None


_wiring = _Wiring()


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


def _system_engine(url: str) -> Engine:
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
           clock: Clock = system_clock) -> None:
    """Configure and launch DBOS once per process (relaunch if the system database changes)."""
    _wiring.engine, _wiring.targets, _wiring.clock = engine, targets, clock
    if _wiring.system_url == system_url:
        return
    if _wiring.system_url is not None:
        DBOS.destroy(destroy_registry=False)
    config: DBOSConfig = {
        "name": "syncline",
        "system_database_url": system_url,
        "run_admin_server": False,
        "application_version": "syncline-1",  # pinned: recovery must survive deploys
        "log_level": "WARNING",
    }
    if system_url.startswith("sqlite"):
        config["system_database_engine"] = _system_engine(system_url)
    from syncline.workflows import connectors  # noqa: F401  (its workflows, registered first)

    DBOS(config=config)
    DBOS.launch()
    _wiring.system_url = system_url


def shutdown() -> None:
    if _wiring.system_url is not None:
        DBOS.destroy(destroy_registry=False)
        _wiring.system_url = None


def deliver_pending(engine: Engine, *, progress: Any = None) -> dict[str, int]:
    """Start (or join) one workflow per pending saga/row; wait for each."""
    counts = {"delivered": 0, "failed": 0}
    for key, ids in delivery.groups(delivery.pending(engine)):
        with SetWorkflowID(f"deliver:{key}"):
            outcome = deliver_group(ids)
        counts[outcome] = counts.get(outcome, 0) + len(ids)
        if progress:
            progress(len(ids))
    return counts
