"""The exceptions inbox: by business domain, grouped by cause, with their age; retry, edit
and replay, skip with a reason. The actions are the CLI's services (messaging.replay,
messaging.exceptions), each recorded in the audit log with the signed-in principal as actor.
Each row shows the business context (customer, contract, project, amount, source record:
services/messaging/exception_context.py) and who it is assigned to; an exception is given
to a person (a principal's name) or taken back, filtered by "assigned to me" or
"unassigned". Everyone signed in reads; acting (assigning too) needs one of ``ACTORS`` (as
``syncline replay``)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from syncline.bootstrap import Syncline
from syncline.console import web
from syncline.services.governance import audit
from syncline.services.governance.keys import lapsed_key, live_names
from syncline.services.governance.roles import BILLING, CONTROLLER, FINANCE, INTEGRATION, PMO
from syncline.services.messaging.exception_context import business_context
from syncline.services.messaging.exceptions import (
    UNASSIGNED,
    AssigneeRefused,
    AssignRefused,
    assign,
    get_exception,
    list_exceptions,
    resolve,
)
from syncline.services.messaging.replay import EditRefused, edit_message, replay

ACTORS = (INTEGRATION, BILLING, PMO, FINANCE, CONTROLLER)
DOMAINS = ("finance", "pmo", "hr", "it", "billing")
STATUSES = ("open", "resolved", "skipped", "all")
OWNERS = {"": "anyone", "me": "assigned to me", "none": "unassigned"}


def _context(view: Any) -> str:
    """The business objects of an exception, as a person reads them, and its correlation
    (the subject it came with): 'time/T-2 · inbox inb_…'."""
    objects = ", ".join(f"{kind} {key}" for kind, key in view.objects)
    return " · ".join(x for x in (view.correlation_id, objects) if x) or "-"


def _same(edited: str, raw: str | None) -> bool:
    """Whether the edited data is the stored message's data (then nothing is edited)."""
    try:
        return bool(raw) and json.loads(edited) == json.loads(str(raw)).get("data")
    except (json.JSONDecodeError, AttributeError):
        return False


def router(system: Syncline) -> APIRouter:
    pages = APIRouter()

    @pages.get("/exceptions", response_class=HTMLResponse)
    def inbox_page(request: Request, domain: str = "", status: str = "open", code: str = "",
                   group: str = "", owner: str = "") -> HTMLResponse:
        who = web.principal(request)
        assignee = {"me": who.name, "none": UNASSIGNED}.get(owner)
        with system.engine.connect() as conn:
            every = list_exceptions(conn, status=None if status == "all" else status,
                                    domain=domain or None, assignee=assignee)
            rows = [e for e in every if not code or e.code == code]
            business = business_context(conn, rows)
        now = system.clock()
        items = [{"e": e, "age": web.age(e.created_at, now), "context": _context(e),
                  "b": business[e.id]} for e in rows]
        causes = Counter(e.code for e in every).most_common()
        by_domain = Counter(e.domain for e in every)
        name = ("_exceptions_table.html" if request.headers.get("hx-request")
                and request.headers.get("hx-target") == "queue" else "exceptions.html")
        return web.page(request, name, items=items, causes=causes, by_domain=by_domain,
                        domains=DOMAINS, statuses=STATUSES, grouped=group == "code",
                        can_act=web.principal(request).has(*ACTORS),
                        back=str(request.url.path) + ("?" + request.url.query
                                                      if request.url.query else ""),
                        owners=OWNERS,
                        f={"domain": domain, "status": status, "code": code, "group": group,
                           "owner": owner if owner in OWNERS else ""})

    @pages.get("/exceptions/{exc_id}", response_class=HTMLResponse)
    def exception_page(request: Request, exc_id: str) -> HTMLResponse:
        who = web.principal(request)
        with system.engine.connect() as conn:
            found = get_exception(conn, exc_id)
        if found is None:
            raise HTTPException(404, f"no exception {exc_id}")
        view, lineage = found
        with system.engine.connect() as conn:
            business = business_context(conn, [view])[view.id]
            now = system.clock()
            people = sorted({*live_names(conn, now=now), who.name})
            lapsed = (lapsed_key(conn, view.assigned_to, now=now)
                      if view.assigned_to else None)
        data = ""
        if lineage.get("raw"):
            try:
                data = json.dumps(json.loads(lineage["raw"]).get("data"), indent=2)
            except (json.JSONDecodeError, AttributeError):
                data = ""
        return web.page(request, "exception.html", e=view, lineage=lineage, data=data,
                        b=business, people=people, me=who.name,
                        lapsed=lapsed.status(now) if lapsed else "",
                        context=_context(view), age=web.age(view.created_at, system.clock()),
                        can_act=who.has(*ACTORS))

    @pages.post("/exceptions/{exc_id}/replay")
    async def replay_action(request: Request, exc_id: str) -> RedirectResponse:
        who = web.principal(request)
        fields = await web.form(request)
        web.require(who, ACTORS, "replaying a message")
        view, lineage = await run_in_threadpool(_open, exc_id)
        if not view.inbox_id:
            raise HTTPException(409, f"exception {exc_id} has no message to replay")
        reason = fields.get("reason", "").strip() or "replayed from the console"
        edited = fields.get("data", "").strip()
        if edited and _same(edited, lineage.get("raw")):
            edited = ""  # unchanged: a plain retry
        text, kind = await run_in_threadpool(_replay, view.inbox_id, exc_id, edited, who.name,
                                             reason)
        web.flash(request, text, kind)
        return RedirectResponse(f"/console/exceptions/{exc_id}", status_code=303)

    def _replay(inbox_id: str, exc_id: str, edited: str, actor: str, reason: str,
                deliver: bool = True) -> tuple[str, str]:
        """Edit (when data is given: validated against the event's schema), replay, audit."""
        try:
            if edited:
                try:
                    data = json.loads(edited)
                except json.JSONDecodeError as problem:
                    raise EditRefused(f"the data is not valid JSON: {problem}") from None
                if not isinstance(data, dict):
                    raise EditRefused("the data must be a JSON object (the event's data)")
                edit_message(system.engine, inbox_id, data, actor=actor, reason=reason,
                             clock=system.clock)
            status, _ = replay(system.engine, inbox_id, system.ref, system.clock, actor=actor)
        except EditRefused as refused:
            return f"Edit refused: {refused}", "error"
        audit.record(system.engine, actor=actor, action="message.replay",
                     subject=f"inbox/{inbox_id}", now=system.clock(),
                     after={"status": status, "edited": bool(edited), "exception": exc_id},
                     reason=reason)
        if deliver:
            system.deliver()
        return f"Message {inbox_id}: {status}", "ok" if status in ("applied", "stale") else "error"

    @pages.post("/exceptions/{exc_id}/assign")
    async def assign_action(request: Request, exc_id: str) -> RedirectResponse:
        """Give the exception to a person ("to": a principal's name; empty: nobody)."""
        who = web.principal(request)
        fields = await web.form(request)
        web.require(who, ACTORS, "assigning an exception")
        to = fields.get("to", "").strip()
        back = fields.get("back", "")
        back = back if back.startswith("/console/exceptions") else f"/console/exceptions/{exc_id}"
        try:
            view = await run_in_threadpool(_assign, exc_id, to or None, who.name,
                                           fields.get("reason", ""))
        except AssigneeRefused as refused:
            web.flash(request, f"Not assigned: {refused}", "error")
            return RedirectResponse(back, status_code=303)
        except AssignRefused as refused:
            raise HTTPException(404, str(refused)) from None
        web.flash(request, f"Exception {exc_id} assigned to {view.assigned_to}"
                  if view.assigned_to else f"Exception {exc_id} unassigned")
        return RedirectResponse(back, status_code=303)

    @pages.post("/exceptions/{exc_id}/skip")
    async def skip_action(request: Request, exc_id: str) -> RedirectResponse:
        who = web.principal(request)
        fields = await web.form(request)
        web.require(who, ACTORS, "skipping an exception")
        reason = fields.get("reason", "").strip()
        back = RedirectResponse(f"/console/exceptions/{exc_id}", status_code=303)
        if not reason:
            web.flash(request, "Skipping needs a reason", "error")
            return back
        await run_in_threadpool(_open, exc_id)
        await run_in_threadpool(_skip, exc_id, who.name, reason)
        web.flash(request, f"Exception {exc_id} skipped")
        return back

    def _assign(exc_id: str, to: str | None, actor: str, reason: str) -> Any:
        with system.engine.begin() as conn:
            return assign(conn, exc_id, to, actor=actor, now=system.clock(), reason=reason)

    def _skip(exc_id: str, actor: str, reason: str) -> None:
        now = system.clock()
        with system.engine.begin() as conn:
            resolve(conn, exc_id, now=now, actor=actor, action="skip", reason=reason,
                    status="skipped")
            audit.append(conn, actor=actor, action="exception.skip",
                         subject=f"exception/{exc_id}", now=now, after={"status": "skipped"},
                         reason=reason)

    @pages.post("/exceptions/bulk")
    async def bulk_action(request: Request) -> RedirectResponse:
        """Retry (replay as stored) or skip (with one reason) every selected open exception;
        each one audited as if done alone."""
        who = web.principal(request)
        fields = await web.form_lists(request)
        web.require(who, ACTORS, "acting on exceptions")
        action = (fields.get("action") or [""])[-1]
        reason = (fields.get("reason") or [""])[-1].strip()
        back = (fields.get("back") or [""])[-1]
        back = back if back.startswith("/console/exceptions") else "/console/exceptions"
        ids = fields.get("ids", [])
        if action == "assign" and ids:
            with system.engine.begin() as conn:
                for exc_id in ids:
                    try:
                        assign(conn, exc_id, who.name, actor=who.name, now=system.clock())
                    except AssignRefused:
                        continue
            web.flash(request, f"{len(ids)} exception(s) assigned to {who.name}")
            return RedirectResponse(back, status_code=303)
        if action not in ("retry", "skip") or not ids or (action == "skip" and not reason):
            web.flash(request, "Select exceptions, and give a reason to skip them", "error")
            return RedirectResponse(back, status_code=303)
        said = await run_in_threadpool(_bulk, action, ids, who.name, reason)
        web.flash(request, said, "ok")
        return RedirectResponse(back, status_code=303)

    def _bulk(action: str, ids: list[str], actor: str, reason: str) -> str:
        outcomes: Counter[str] = Counter()
        for exc_id in ids:
            with system.engine.connect() as conn:
                found = get_exception(conn, exc_id)
            if found is None or found[0].status != "open":
                outcomes["not open"] += 1
            elif action == "skip":
                _skip(exc_id, actor, reason)
                outcomes["skipped"] += 1
            elif not found[0].inbox_id:
                outcomes["no message to replay"] += 1
            else:
                text, _ = _replay(found[0].inbox_id, exc_id, "", actor,
                                  reason or "retried from the console", deliver=False)
                outcomes[text.split(": ")[1]] += 1  # "Message inb_…: rejected: why"
        if action == "retry":
            system.deliver()
        return f"{action.capitalize()} of {len(ids)}: " + ", ".join(
            f"{n} {what}" for what, n in sorted(outcomes.items()))

    def _open(exc_id: str) -> tuple[Any, dict[str, Any]]:
        with system.engine.connect() as conn:
            found = get_exception(conn, exc_id)
        if found is None:
            raise HTTPException(404, f"no exception {exc_id}")
        if found[0].status != "open":
            raise HTTPException(409, f"exception {exc_id} is {found[0].status}")
        return found

    return pages
