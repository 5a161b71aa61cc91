"""Revenue endpoints: a contract's schedule with explanations and its revenue in a month,
computed from stored facts; recognition of a period as its own call, with a dry run."""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from syncline.api.auth import Requires, needs
from syncline.bootstrap import Syncline
from syncline.ledger.periods import is_period_name
from syncline.revenue import RevenueError, compute_schedule
from syncline.services.billing.run import month_bounds
from syncline.services.governance import audit
from syncline.services.governance.roles import FINANCE, READERS, Principal
from syncline.services.revenue.facts import build_contract
from syncline.services.revenue.statement import month_statement
from syncline.services.revenue.sync import DEFAULT_POLICY, recognize, stored_schedule
from syncline.services.revenue.views import schedule_json


class RecognitionRequest(BaseModel):
    period: str = Field(description="YYYY-MM")
    entity: str | None = Field(None, description="one legal entity, or all")
    dry_run: bool = Field(False, description="compute and roll back: nothing is stored")


def _period(period: str) -> str:
    if not is_period_name(period):
        raise HTTPException(422, f"period {period!r} is not YYYY-MM")
    return period


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["revenue"])

    @api.get("/contracts/{number}/schedule", dependencies=needs(*READERS))
    def contract_schedule(number: str, as_of: date | None = None,
                          known_at: datetime | None = None,
                          period: str | None = None) -> dict[str, Any]:
        """The schedule as of a date (default today, or the end of ``period``), optionally
        as known at an instant; with ``period``, also the revenue recognised in that month
        (``month``: per obligation, catch-ups, billed, balance)."""
        if period is not None:
            as_of = as_of or month_bounds(_period(period))[1]
        with system.engine.connect() as conn:
            rc = build_contract(conn, number)
        if rc is None:
            raise HTTPException(404, f"no contract {number}")
        try:
            result = compute_schedule(rc, DEFAULT_POLICY, as_of or system.clock().date(),
                                      known_at=known_at)
        except RevenueError as err:
            raise HTTPException(422, {"location": err.location, "rule": err.rule}) from None
        body = schedule_json(result)
        if period is not None:
            try:
                body["month"] = month_statement(result, period)
            except KeyError:
                raise HTTPException(422, f"contract {number} has no period {period}") from None
        return body

    @api.get("/contracts/{number}/schedule/stored", dependencies=needs(*READERS))
    def stored(number: str) -> list[dict[str, str]]:
        """The schedule rows persisted by the last recognition run."""
        return stored_schedule(system.engine, number)

    @api.post("/revenue/recognitions")
    def recognitions(req: RecognitionRequest,
                     principal: Annotated[Principal, Depends(Requires(FINANCE))]
                     ) -> dict[str, Any]:
        """Recognise a period (schedules and, in engine mode, true-up journals) without a
        close, for one entity or all; ``dry_run`` says what it would do and changes nothing.
        Idempotent: a second real run posts nothing."""
        engine_mode = system.settings.revenue_recognition == "engine"
        result = recognize(system.engine, _period(req.period), system.charts, system.clock(),
                           post_journals=engine_mode, entity=req.entity,
                           rules=system.ledger.rules,
                           closed_period_policy=system.ledger.closed_period_policy,
                           functional=system.ledger.functional_currencies,
                           dry_run=req.dry_run)
        if not req.dry_run:
            audit.record(system.engine, actor=principal.name, action="revenue.recognize",
                         subject=f"revenue/{req.period}/{req.entity or '*'}",
                         now=system.clock(), after={"journal_entries": result.journal_entries,
                                                    "contracts": result.contracts})
        return {"period": req.period, "entity": req.entity, "dry_run": req.dry_run,
                "journals": "true-up" if engine_mode else
                "schedules only (revenue is credited at invoice: on_invoice mode)",
                "contracts": result.contracts, "journal_entries": result.journal_entries,
                "refused": result.refused, "posting_failed": result.posting_failed,
                "revenue": {k: str(v) for k, v in sorted(result.revenue.items())},
                "by_contract": result.by_contract}

    return api
