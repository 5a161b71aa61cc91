"""Close endpoint: run (or return) the durable close of a month."""

from typing import Any

from fastapi import APIRouter, HTTPException

from syncline.bootstrap import Syncline
from syncline.ledger.periods import is_period_name
from syncline.services.ledger.period_checks import close_problem, entity_problem


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["close"])

    @api.post("/close/{period}")
    def close_period(period: str, entity: str | None = None, force: bool = False,
                     actor: str = "api") -> dict[str, Any]:
        """Cut-off, billing, recognition, accruals, intercompany charges, FX revaluation,
        reconciliation, then lock (idempotent; each step recorded)."""
        from syncline.workflows.close import run_close

        if not is_period_name(period):
            raise HTTPException(422, f"period must be YYYY-MM, got {period!r}")
        problem = close_problem(period, system.clock().date())
        if problem is None:
            with system.engine.connect() as conn:
                problem = entity_problem(conn, system.ref, entity)
        if problem:
            raise HTTPException(422, problem)
        return run_close(system, period, entity, actor=actor, force=force)

    return api
