"""The period close as a durable DBOS workflow: each close step is a recorded step.

Workflow id `close:<entity|ALL>:<period>:<run>` (run = how many times the period was
reopened): closing the same period twice returns the recorded result and changes nothing; a
close interrupted by a crash resumes where it stopped when Syncline starts again (or when the
same close is asked for), without redoing the steps already recorded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from dbos import DBOS, SetWorkflowID

from syncline.services.close import steps
from syncline.workflows.delivery import current_version, held


class CloseInFlight(RuntimeError):
    """The close's workflow is in flight under another application version."""

Progress = Callable[[str, dict[str, Any]], None]


class _Wiring:
    system: Any = None
    progress: Progress | None = None
    crash_after: str | None = None  # tests: die right after this step is recorded


_w = _Wiring()


def _done(name: str, result: dict[str, Any]) -> dict[str, Any]:
    if _w.progress:
        _w.progress(name, result)
    return result


def _recorded(name: str, step: steps.Step) -> Callable[[str, str | None], dict[str, Any]]:
    """One DBOS step per close step, recorded under `<name>_step`."""

    @DBOS.step(name=f"{name.replace('-', '_')}_step")
    def run(period: str, entity: str | None) -> dict[str, Any]:
        return _done(name, step(_w.system, period, entity))

    return run


_RECORDED = tuple((name, _recorded(name, step)) for name, step in steps.LEDGER_STEPS)


@DBOS.step(name="lock_step")
def lock_step(period: str, entity: str | None, actor: str, lock: bool,
              roles: list[str]) -> dict[str, Any]:
    return _done("lock", steps.close_and_lock(_w.system, period, entity, actor=actor,
                                              lock=lock, roles=roles))


def _checkpoint(name: str) -> None:
    if _w.crash_after == name:
        os._exit(70)


@DBOS.workflow()
def close_period(period: str, entity: str | None, actor: str, force: bool,
                 roles: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"period": period, "entity": entity}
    for name, run in _RECORDED:
        out[name] = run(period, entity)
        _checkpoint(name)
    lock = bool(out["reconciliation"]["ok"]) or force
    out["lock"] = lock_step(period, entity, actor, lock, roles)
    out["locked"] = lock
    return out


def wire(system: Any, progress: Progress | None = None) -> None:
    """The system the close's steps act on, in a process that may run a close it did not
    start (recovered at launch, or resumed as a fork): call before DBOS launches."""
    _w.system, _w.progress = system, progress


def run_close(system: Any, period: str, entity: str | None = None, *, actor: str = "finance",
              force: bool = False, progress: Progress | None = None,
              roles: Sequence[str] = ("finance", "controller")) -> dict[str, Any]:
    """The close as ``actor`` holding ``roles``: closing needs finance, the final lock needs
    controller (without it the months stay closed and the lock step says why)."""
    from syncline.workflows import delivery

    wire(system, progress)  # before launch: recovery may run steps
    delivery.launch(system.engine, system.targets, system.settings.workflow_db_url(),
                    system.clock, app_version=system.settings.workflow_version())
    workflow_id = f"close:{entity or 'ALL'}:{period}:{steps.run_number(system, period, entity)}"
    holder = held(workflow_id)
    if holder is not None and holder.status == "SUCCESS":  # resumed as a fork, finished
        result: dict[str, Any] = dict(holder.output)
    elif holder is not None:
        raise CloseInFlight(
            f"the close {workflow_id} was interrupted under application version "
            f"{holder.app_version} and is {holder.status} ({holder.workflow_id}); this is "
            f"{current_version()}: run a process of that version, or `syncline workflows "
            f"resume {workflow_id}` (docs/operations.md, Deploying)")
    else:
        with SetWorkflowID(workflow_id):
            result = close_period(period, entity, actor, force, sorted(roles))
    result["workflow_id"] = workflow_id
    return result


def close_steps(workflow_id: str) -> list[dict[str, Any]]:
    """The recorded steps of a close (for status and audit)."""
    return [{"step": s["function_name"], "output": s.get("output"), "error": s.get("error")}
            for s in DBOS.list_workflow_steps(workflow_id)]
