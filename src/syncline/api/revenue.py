"""Revenue endpoints: a contract's schedule with explanations, computed from stored facts."""

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException

from syncline.bootstrap import Syncline
from syncline.revenue import RevenueError, compute_schedule
from syncline.services.revenue.facts import build_contract
from syncline.services.revenue.sync import DEFAULT_POLICY, stored_schedule
from syncline.services.revenue.views import schedule_json


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["revenue"])

    @api.get("/contracts/{number}/schedule")
    def contract_schedule(number: str, as_of: date | None = None,
                          known_at: datetime | None = None) -> dict[str, Any]:
        """The schedule as of a date (default today), optionally as known at an instant."""
        with system.engine.connect() as conn:
            rc = build_contract(conn, number)
        if rc is None:
            raise HTTPException(404, f"no contract {number}")
        try:
            result = compute_schedule(rc, DEFAULT_POLICY, as_of or system.clock().date(),
                                      known_at=known_at)
        except RevenueError as err:
            raise HTTPException(422, {"location": err.location, "rule": err.rule}) from None
        return schedule_json(result)

    @api.get("/contracts/{number}/schedule/stored")
    def stored(number: str) -> list[dict[str, str]]:
        """The schedule rows persisted by the last recognition run."""
        return stored_schedule(system.engine, number)

    return api
