"""Workflows across deploys: which version owns an interrupted workflow, and the operator's
way to finish one whose version no longer runs (docs/operations.md, "Deploying").

DBOS records each workflow with the application version that started it, and a process
recovers at launch only the interrupted (PENDING) workflows of its own version and executor
id. Work interrupted under an older version is therefore neither run by the new version nor
lost: it stays PENDING, listed here. A Syncline process that meets such a workflow by its id
(the deliverer for a saga still pending in the outbox, a close of the same period) leaves it
alone — `held` — instead of waiting for it or running it a second time.

`resume` finishes one: the original is cancelled first (so a process of the old version,
started again, does not recover it too), then forked under this process's version from the
step after the last one it recorded — the recorded steps are copied, not run again; a step
that was under way when the process died runs again, with the same idempotency key (the
outbox id) as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dbos import DBOS, DBOSClient

from syncline.workflows.delivery import IN_FLIGHT, current_version, system_engine


class NotResumable(ValueError):
    pass


@dataclass(frozen=True)
class Flight:
    """One workflow as the operator sees it."""

    workflow_id: str
    name: str
    status: str
    app_version: str | None
    executor_id: str | None
    created_at: str
    recovery_attempts: int | None
    forked_from: str | None
    steps: int
    this_version: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _flight(w: Any, steps: int, version: str) -> Flight:
    created = (datetime.fromtimestamp(w.created_at / 1000, UTC).isoformat(timespec="seconds")
               if w.created_at else "")
    return Flight(workflow_id=w.workflow_id, name=w.name, status=w.status,
                  app_version=w.app_version, executor_id=w.executor_id, created_at=created,
                  recovery_attempts=w.recovery_attempts, forked_from=w.forked_from,
                  steps=steps, this_version=w.app_version == version)


def in_flight(system_url: str, version: str, *, every: bool = False,
              limit: int = 200) -> list[Flight]:
    """Workflows not finished (PENDING, ENQUEUED, DELAYED) — or every one, newest first.
    Read with a DBOS client, which runs no workflow: listing recovers nothing (launching
    DBOS would start this version's recovery in the listing process)."""
    try:
        client = DBOSClient(system_database_engine=system_engine(system_url))
    except Exception as missing:  # no system database yet: nothing ever ran
        if "no such table" in str(missing).lower() or "does not exist" in str(missing):
            return []
        raise
    try:
        found = client.list_workflows(status=None if every else list(IN_FLIGHT), limit=limit,
                                      sort_desc=True, load_input=False, load_output=False)
        return [_flight(w, len(client.list_workflow_steps(w.workflow_id)), version)
                for w in found]
    finally:
        client.destroy()


def resume(workflow_id: str, *, wait: bool = True) -> dict[str, Any]:
    """Finish an interrupted workflow under this process's version (see the module)."""
    found = DBOS.get_workflow_status(workflow_id)
    if found is None:
        raise NotResumable(f"no workflow {workflow_id}")
    if found.status not in IN_FLIGHT:
        raise NotResumable(f"{workflow_id} is {found.status}: only an interrupted "
                           "(PENDING or ENQUEUED) workflow is resumed")
    version = current_version()
    if found.app_version == version:
        DBOS.resume_workflow(workflow_id)  # this version's own: recovered as at launch
        handle = DBOS.retrieve_workflow(workflow_id)
        resumed = workflow_id
    else:
        recorded = DBOS.list_workflow_steps(workflow_id)
        start = max((s["function_id"] for s in recorded), default=0) + 1
        DBOS.cancel_workflow(workflow_id)  # never recovered by its old version again
        handle = DBOS.fork_workflow(workflow_id, start, application_version=version)
        resumed = handle.get_workflow_id()
    out: dict[str, Any] = {"workflow_id": workflow_id, "resumed_as": resumed,
                           "from_version": found.app_version, "version": version}
    if wait:
        out["result"] = handle.get_result()
        out["status"] = handle.get_status().status
    return out
