"""The close cockpit: per period and legal entity, the period's status and its recorded
changes, the recorded close runs (audit log), the close-reconciliation report's checks, its
differences by cause with a drill-down to the rows behind each (linked to their lineage and
exception), and the Close, Lock and Reopen actions. Everyone signed in reads; closing needs
finance (as ``POST /v1/close``), locking and reopening controller and a reason (the period
service's rules, as ``POST /v1/periods/...``): others see the buttons disabled and a POST
answers 403. The close is the durable workflow
(workflows/close.run_close) run as the signed-in principal with its roles (the lock also
needs controller)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from syncline.bootstrap import Syncline
from syncline.console import web
from syncline.ledger.periods import is_period_name, period_of
from syncline.services.governance import audit
from syncline.services.governance.roles import CONTROLLER, FINANCE
from syncline.services.ledger.period_checks import close_problem
from syncline.services.ledger.periods import (
    PeriodChangeRefused,
    change_period,
    period_history,
    status_of,
)
from syncline.services.ledger.reports import report_options

CLOSERS = (FINANCE,)
LOCKERS = (CONTROLLER,)  # lock and reopen: the period service's ROLE_NEEDED
DIFFERENCES = "Differences by cause and object"


def _differences(report: Any) -> list[dict[str, Any]]:
    found = [t for t in report.tables if t.title == DIFFERENCES]
    return found[0].as_dicts() if found else []


def by_cause(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The differences grouped by (check, cause, unit): how many objects and their net
    difference (actual − expected), largest count first."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for d in rows:
        key = (str(d["check"]), str(d["cause"]), str(d["unit"]))
        g = groups.setdefault(key, {"check": key[0], "cause": key[1], "unit": key[2],
                                    "count": 0, "difference": Decimal(0)})
        g["count"] += 1
        g["difference"] += Decimal(str(d["difference"]))
    return sorted(groups.values(), key=lambda g: (-g["count"], g["check"], g["cause"]))


def router(system: Syncline) -> APIRouter:
    pages = APIRouter()
    entities = [e.code for e in system.ref.entities]

    def _check(period: str, entity: str) -> None:
        if not is_period_name(period):
            raise HTTPException(422, f"period must be YYYY-MM, got {period!r}")
        if entity not in entities:
            raise HTTPException(422, f"unknown legal entity {entity!r}: {', '.join(entities)}")

    @pages.get("/close", response_class=HTMLResponse)
    def cockpit(request: Request, period: str = "", entity: str = "") -> HTMLResponse:
        who = web.principal(request)
        period = period or period_of(system.clock().date())
        entity = entity or entities[0]
        _check(period, entity)
        with system.engine.connect() as conn:
            status = status_of(conn, entity, period).value
            history = period_history(conn, entity, period)
            report = report_options(system).build(conn, "close-reconciliation", period,
                                                  entity=entity)
            runs = [r for r in audit.entries(conn, action="close.run")
                    if r["subject"] in (f"close/{entity}/{period}", f"close/*/{period}")]
        steps = _steps(runs[-1]["after"].get("workflow_id") if runs and runs[-1]["after"]
                       else None)
        tables: list[dict[str, Any]] = [
            {"title": t.title, "columns": t.columns, "rows": t.rows} for t in report.tables
            if t.title != DIFFERENCES]
        checks = report.tables[0].as_dicts() if report.tables else []
        failing = [c for c in checks if str(c.get("status")) not in ("ok", "skipped")]
        return web.page(request, "close.html", nav="close", period=period, entity=entity,
                        entities=entities, status=status, history=history, runs=runs,
                        steps=steps, causes=by_cause(_differences(report)),
                        tables=tables, notes=report.notes, failing=len(failing),
                        can_close=who.has(*CLOSERS), can_lock=who.has(*LOCKERS),
                        problem=close_problem(period, system.clock().date()))

    @pages.get("/close/differences", response_class=HTMLResponse)
    def differences(request: Request, period: str, entity: str, check: str = "",
                    cause: str = "") -> HTMLResponse:
        """The rows behind one (check, cause) of the differences: each object with its
        expected and actual figures, linked to its lineage and to its exception."""
        web.principal(request)
        _check(period, entity)
        with system.engine.connect() as conn:
            report = report_options(system).build(conn, "close-reconciliation", period,
                                                  entity=entity)
        rows = [d for d in _differences(report) if (not check or d["check"] == check)
                and (not cause or d["cause"] == cause)]
        name = ("_close_differences.html" if request.headers.get("hx-request")
                else "close_differences.html")
        return web.page(request, name, nav="close", period=period, entity=entity,
                        check=check, cause=cause, rows=rows)

    @pages.post("/close/period")
    async def period_action(request: Request) -> RedirectResponse:
        """Lock or reopen the period: the period service's rules (controller and a reason,
        audited as period.lock / period.reopen); others 403."""
        who = web.principal(request)
        fields = await web.form(request)
        action = fields.get("action", "")
        if action not in ("lock", "reopen"):
            raise HTTPException(422, f"no period action {action!r}: lock or reopen")
        web.require(who, LOCKERS, f"{'locking' if action == 'lock' else 'reopening'} a period")
        period, entity = fields.get("period", ""), fields.get("entity", "")
        _check(period, entity)
        def _change() -> Any:
            with system.engine.begin() as conn:
                return change_period(conn, entity, period, action, actor=who.name,
                                     role=who.roles, reason=fields.get("reason", "").strip(),
                                     now=system.clock())

        try:
            view = await run_in_threadpool(_change)
        except PeriodChangeRefused as refused:
            if refused.problem == "forbidden":
                raise HTTPException(403, str(refused)) from None
            web.flash(request, f"Refused: {refused}", "error")
        else:
            web.flash(request, f"{entity} {period} is {view.status} ({action} by {who.name})")
        return RedirectResponse(f"/console/close?period={period}&entity={entity}",
                                status_code=303)

    @pages.post("/close")
    async def close_action(request: Request) -> RedirectResponse:
        who = web.principal(request)
        fields = await web.form(request)
        web.require(who, CLOSERS, "closing a period")
        period, entity = fields.get("period", ""), fields.get("entity", "")
        _check(period, entity)
        back = RedirectResponse(f"/console/close?period={period}&entity={entity}",
                                status_code=303)
        problem = close_problem(period, system.clock().date())
        if problem:
            web.flash(request, problem, "error")
            return back
        result = await run_in_threadpool(_close, period, entity, who.name, sorted(who.roles))
        lock = result.get("lock") or {}
        said = ", ".join(f"{k} {v}" for k, v in lock.items()) if isinstance(lock, dict) else lock
        web.flash(request, f"Close of {entity} {period}: {said}",
                  "ok" if result.get("reconciliation", {}).get("ok") else "error")
        return back

    def _steps(workflow_id: str | None) -> list[dict[str, Any]]:
        """The recorded steps of the last close run (its durable workflow's), each with its
        summary; the workflow engine is started for it if this process has not yet."""
        if not workflow_id:
            return []
        from syncline.workflows import delivery
        from syncline.workflows.close import close_steps

        delivery.launch(system.engine, system.targets, system.settings.workflow_db_url(),
                        system.clock, app_version=system.settings.workflow_version())
        return [{"step": s["step"].rsplit(".", 1)[-1].removesuffix("_step"),
                 "summary": json.dumps(s["output"], default=str)[:300] if s["output"]
                 is not None else "", "error": s["error"]} for s in close_steps(workflow_id)]

    def _close(period: str, entity: str, actor: str, roles: list[str]) -> dict[str, Any]:
        from syncline.workflows.close import run_close

        result = run_close(system, period, entity, actor=actor, roles=roles)
        audit.record(system.engine, actor=actor, action="close.run",
                     subject=f"close/{entity}/{period}", now=system.clock(),
                     after={"lock": result.get("lock"), "locked": result.get("locked"),
                            "workflow_id": result.get("workflow_id")})
        return result

    return pages
