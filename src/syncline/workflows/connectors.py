"""Connector polls as durable workflows: each poll is a DBOS workflow whose id is the
connector and its time slot, so a poll runs once per slot however many workers see it due
(the workflow id is deduplicated by DBOS in the shared system database) and a poll a crash
interrupted is recovered by DBOS when the process starts again. A poll syncs each stream in
a step of its own; a stream resumes from its stored cursor, so a recovered step re-reads
at most one uncommitted batch, whose records are then duplicates.

``poll_due`` is called by the background worker (``syncline serve`` and ``syncline worker``)
once a minute; a connector is due when ``poll_minutes`` > 0 and its current slot has not
started a poll yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbos import DBOS, SetWorkflowID
from sqlalchemy import Engine

from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.base import Connector
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.services.clock import Clock, system_clock


@dataclass
class _Wiring:
    engine: Engine | None = None
    clock: Clock = system_clock
    resolve: Callable[[str], Connector | None] | None = None
    started: dict[str, str] = field(default_factory=dict)  # connector → last slot started


_wiring = _Wiring()


def wire(engine: Engine, resolve: Callable[[str], Connector | None],
         clock: Clock = system_clock) -> None:
    _wiring.engine, _wiring.resolve, _wiring.clock = engine, resolve, clock


def _connector(name: str) -> Connector:
    assert _wiring.resolve is not None and _wiring.engine is not None, "call wire() first"
    found = _wiring.resolve(name)
    if found is None:
        raise LookupError(f"connector {name} is no longer configured")
    return found


@DBOS.step()
def sync_stream_step(name: str, stream: str) -> dict[str, Any]:
    connector = _connector(name)
    chosen = next(s for s in connector.streams() if s.name == stream)
    assert _wiring.engine is not None
    return run_stream(_wiring.engine, name, chosen, clock=_wiring.clock).as_dict()


@DBOS.workflow()
def poll_connector(name: str) -> list[dict[str, Any]]:
    streams = [s.name for s in _connector(name).streams()]
    return [sync_stream_step(name, stream) for stream in streams]


def slot_of(config: ConnectorConfig, now: datetime) -> str:
    """The poll's time slot: ``poll_minutes``-wide windows since the epoch."""
    width = config.poll_minutes * 60
    return str(int(now.timestamp()) // width * width)


def due(configs: list[ConnectorConfig], now: datetime,
        started: dict[str, str]) -> list[tuple[str, str]]:
    """(connector, slot) of each scheduled connector whose slot has not been started here."""
    return [(c.name, slot_of(c, now)) for c in configs
            if c.poll_minutes > 0 and started.get(c.name) != slot_of(c, now)]


def poll_due(configs: list[ConnectorConfig], now: datetime) -> list[str]:
    """Start (or join) the poll workflow of every due connector; returns their workflow ids.
    Does not wait: each poll runs in DBOS's executor."""
    ids = []
    for name, slot in due(configs, now, _wiring.started):
        workflow_id = f"poll:{name}:{slot}"
        with SetWorkflowID(workflow_id):
            DBOS.start_workflow(poll_connector, name)
        _wiring.started[name] = slot
        ids.append(workflow_id)
    return ids


def result(workflow_id: str) -> list[dict[str, Any]]:
    """Wait for a poll and return its per-stream results."""
    handle = DBOS.retrieve_workflow(workflow_id)
    out: list[dict[str, Any]] = handle.get_result()
    return out
