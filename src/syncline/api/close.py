"""Close endpoint: run (or return) the durable close of a month."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from syncline.api.auth import Requires
from syncline.bootstrap import Syncline
from syncline.ledger.periods import is_period_name
from syncline.services.governance import audit
from syncline.services.governance.roles import FINANCE, Principal
from syncline.services.ledger.period_checks import close_problem, entity_problem


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["close"])

    @api.post("/close/{period}")
    def close_period(period: str, request: Request,
                     principal: Annotated[Principal, Depends(Requires(FINANCE))],
                     entity: str | None = None, force: bool = False) -> dict[str, Any]:
        """Cut-off, billing, recognition, accruals, intercompany charges, FX revaluation,
        reconciliation, then lock (idempotent; each step recorded). Needs finance; the lock
        also needs controller (a finance-only caller leaves the months closed, and the
        ``lock`` step says so). The actor is the caller's principal: ``actor`` is refused."""
        from syncline.workflows.close import run_close

        if "actor" in request.query_params:
            raise HTTPException(422, "actor is not taken: the close is recorded as the "
                                "principal of your API key")
        if not is_period_name(period):
            raise HTTPException(422, f"period must be YYYY-MM, got {period!r}")
        problem = close_problem(period, system.clock().date())
        if problem is None:
            with system.engine.connect() as conn:
                problem = entity_problem(conn, system.ref, entity)
        if problem:
            raise HTTPException(422, problem)
        result = run_close(system, period, entity, actor=principal.name, force=force,
                           roles=sorted(principal.roles))
        audit.record(system.engine, actor=principal.name, action="close.run",
                     subject=f"close/{entity or '*'}/{period}", now=system.clock(),
                     after={"lock": result.get("lock"), "locked": result.get("locked"),
                            "workflow_id": result.get("workflow_id")},
                     reason="forced" if force else None)
        return result

    return api
