"""The connector health page: each configured connector (``SYNCLINE_CONNECTORS_CONFIG``)
with its streams, their cursors, last run, last error and record counts, its webhook
receipts (accepted and refused, the latest with their reason), and the outbox's deliveries
per target and legal entity with the dead letters. A dead letter is retried (sent again with
the same idempotency key) or skipped with a reason by finance or admin — the delivery
service's actions (services/messaging/deliveries.py, as ``syncline deliveries retry|skip``),
audited with the signed-in principal; others see the buttons disabled and a POST answers 403.

No secret is shown: a connector is built only to list its streams; one that cannot start
(a missing secret, a bad setting) says why, and its stored cursors are still listed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from syncline.bootstrap import Syncline
from syncline.connectors.registry import Wiring, build, configured
from syncline.connectors.routing import ERP_KINDS
from syncline.connectors.sdk.config import ConnectorConfigInvalid
from syncline.connectors.sdk.secrets import MissingSecret
from syncline.console import web
from syncline.services.connectors import cursors, webhooks
from syncline.services.governance.roles import ADMIN, FINANCE
from syncline.services.messaging import deliveries as d

ACTORS = (FINANCE, ADMIN)  # as POST /v1/deliveries/{id}/retry|skip
STATUSES = ("pending", "delivered", "failed", "skipped", "compensated")


def _connectors(system: Syncline) -> tuple[list[dict[str, Any]], str | None]:
    """Each configured connector with its streams and their cursor rows, webhook receipts
    and routed entities; and the problem with the configuration, if any."""
    path = system.settings.connectors_config
    try:
        configs = configured(path) if path else []
    except (ConnectorConfigInvalid, OSError) as bad:
        return [], f"{path}: {bad}"
    rows = cursors.listing(system.engine)
    received = webhooks.counts(system.engine)
    out = []
    for c in configs:
        problem, streams = None, []
        try:
            built = build(c, Wiring(engine=system.engine))
            streams = [s.name for s in built.streams()]
        except (MissingSecret, ConnectorConfigInvalid, ValueError, KeyError, OSError) as bad:
            problem = f"cannot start: {bad}"
        mine = {r.stream: r for r in rows if r.connector == c.name}
        out.append({
            "name": c.name, "kind": c.kind, "poll_minutes": c.poll_minutes,
            "problem": problem,
            "streams": [{"name": s, "cursor": mine.get(s)} for s in streams]
            + [{"name": s, "cursor": r} for s, r in sorted(mine.items()) if s not in streams],
            "webhooks": received.get(c.name, {}),
            "recent": webhooks.recent(system.engine, c.name, limit=5),
            "entities": list(c.setting("entities") or []) if c.kind in ERP_KINDS else [],
        })
    return out, None


def _routes(connectors: list[dict[str, Any]]) -> dict[str, str]:
    """ERP entity → the connector its documents go to (others: the sandbox)."""
    return {e: c["name"] for c in connectors for e in c["entities"]}


def router(system: Syncline) -> APIRouter:
    pages = APIRouter()

    @pages.get("/connectors", response_class=HTMLResponse)
    def health(request: Request) -> HTMLResponse:
        who = web.principal(request)
        connectors, problem = _connectors(system)
        routes = _routes(connectors)
        with system.engine.connect() as conn:
            counted = d.counts(conn)
            dead = d.deliveries(conn, status="failed", limit=200)
        table: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for n in counted:
            table[(n.target, n.entity or "")][n.status] = n.count
        targets = [{"target": t, "entity": e, "to": _to(system, routes, t, e),
                    "counts": {s: c.get(s, 0) for s in STATUSES}}
                   for (t, e), c in sorted(table.items())]
        now = system.clock()
        return web.page(request, "connectors.html", nav="connectors", connectors=connectors,
                        problem=problem, targets=targets, statuses=STATUSES,
                        dead=[{"d": x, "age": web.age(x.created_at, now)} for x in dead],
                        can_act=who.has(*ACTORS),
                        configured=bool(system.settings.connectors_config))

    @pages.post("/connectors/deliveries/{outbox_id}/{action}")
    async def act(request: Request, outbox_id: str, action: str) -> RedirectResponse:
        who = web.principal(request)
        fields = await web.form(request)
        if action not in ("retry", "skip"):
            raise HTTPException(404, f"no delivery action {action!r}: retry or skip")
        web.require(who, ACTORS, f"{action} of a delivery")
        reason = fields.get("reason", "").strip() or (
            "retried from the console" if action == "retry" else "")
        said, kind = await run_in_threadpool(_act, action, outbox_id, who.name, reason)
        web.flash(request, said, kind)
        return RedirectResponse("/console/connectors#dead-letters", status_code=303)

    def _act(action: str, outbox_id: str, actor: str, reason: str) -> tuple[str, str]:
        try:
            with system.engine.begin() as conn:
                done = (d.retry if action == "retry" else d.skip)(
                    conn, outbox_id, actor=actor, reason=reason, now=system.clock())
        except d.DeliveryRefused as refused:
            return f"Refused: {refused}", "error"
        if action == "retry":
            system.deliver()
            with system.engine.connect() as conn:
                after = d.delivery(conn, outbox_id)
            status = after.status if after else done.status
            return (f"Delivery {outbox_id} retried: {status}"
                    + (f" ({after.last_error})" if after and status == "failed" else ""),
                    "ok" if status == "delivered" else "error")
        return f"Delivery {outbox_id} skipped", "ok"

    return pages


def _to(system: Syncline, routes: dict[str, str], target: str, entity: str) -> str:
    """Where a target's documents go: an ERP entity's connector, else the target's system
    (its name, the sandbox by default)."""
    if target == "erp" and entity in routes:
        return routes[entity]
    return str(getattr(system.targets.get(target), "name", None) or "sandbox")
