"""FastAPI application: events in, read models out; every endpoint but health needs a key.

Receiving is decoupled from applying: `POST /v1/events` stores the raw messages durably (one
writer thread commits the messages of all requests waiting at once in one transaction, never
on the event loop: api/intake.py) and answers after the commit; a `BackgroundWorker` started
with the app applies them and delivers the outbox. `?wait=SECONDS` holds the answer until the
messages are settled (applied, parked, failed …) and includes each outcome; any time later,
`GET /v1/events/{source}/{id}` says what became of a message.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

import sqlalchemy.orm  # noqa: F401  (see below)
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from opentelemetry.context import Context
from sqlalchemy.exc import OperationalError

from syncline import __version__
from syncline.api import (
    billing,
    binding,
    close,
    deliveries,
    docs,
    kpis,
    ledger,
    masterdata,
    metrics,
    paging,
    revenue,
    staffing,
    telemetry,
    xref,
)
from syncline.api import connectors as connectors_api
from syncline.api import exceptions as exceptions_api
from syncline.api import governance as governance_api
from syncline.api.auth import Requires, authenticated, public
from syncline.api.intake import Intake
from syncline.api.limits import PrincipalLimiter
from syncline.api.principals import Authenticator
from syncline.bootstrap import Syncline, settle_process
from syncline.console.app import create as console_app
from syncline.runner import BackgroundWorker
from syncline.services import contracts as contract_views
from syncline.services.governance.roles import INTEGRATION, READERS, Principal, parse_roles
from syncline.services.messaging.exception_context import business_context
from syncline.services.messaging.exceptions import UNASSIGNED, get_exception, list_exceptions
from syncline.services.messaging.inbox import Receipt, prepare, receive_prepared
from syncline.services.messaging.lock_signal import signal_for
from syncline.services.messaging.status import SETTLED, event_outcome, outcomes_of, statuses_of
from syncline.services.messaging.write_lock import promptly
from syncline.services.telemetry import traces

# `sqlalchemy.orm` is imported above, before requests run in worker threads: SQLAlchemy
# imports it lazily on first use, and two threads doing that at once see a half-imported
# module (a 500 on the first concurrent requests, found by the HTTP bench).
MAX_BATCH = binding.MAX_BATCH
MAX_WAIT_SECONDS = 30.0


def create_app(system: Syncline, *, worker: BackgroundWorker | None = None,
               background: bool = True,
               connectors: connectors_api.Resolve | None = None) -> FastAPI:
    """The API over a wired system. With `background` (the default) the app runs a
    `BackgroundWorker` while it is up (or the one given); without it, nothing applies what
    is received (a separate `syncline worker` process does). ``connectors`` finds a webhook's
    connector by name (default: SYNCLINE_CONNECTORS_CONFIG)."""
    runner = worker or (BackgroundWorker(system) if background else None)

    def _receive(items: Sequence[Any], parents: Sequence[Context | None]) -> list[Receipt]:
        prepared = prepare(items, parents=parents)  # parsed and validated before the lock
        with promptly(system.engine) as conn:  # the lock asked for every ms (write_lock.py)
            return receive_prepared(conn, prepared, now=system.clock())

    intake = Intake(_receive)  # group commit of POST /v1/events (services/messaging/write_lock.py)
    if runner is not None and runner.between_batches is None and \
            system.engine.dialect.name == "sqlite":  # one write lock for receive and apply:
        runner.between_batches = intake.let_through  # the API's turn after each batch
        shared = signal_for(system.engine)  # a writer of another process waiting, too
        runner.yield_when = intake.waiting if shared is None else (
            lambda: intake.waiting() or shared.waiting())  # a batch ends early then

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if runner is not None:
            runner.start()
        settle_process()  # bootstrap.py: the startup objects set apart from the collector
        try:
            yield
        finally:
            await run_in_threadpool(intake.close)
            if runner is not None:
                await run_in_threadpool(runner.stop)

    app = FastAPI(title="Syncline API", version=__version__, lifespan=lifespan,
                  description="Events in (CloudEvents 1.0), business state out.",
                  openapi_url=None, docs_url=None, redoc_url=None,  # api/docs.py serves them
                  # Syncline makes its own spans (services/telemetry/traces.py) under its own
                  # provider; FastAPI's native OpenTelemetry would look for a global one on
                  # every request (reading the environment: 7 % of a small request's CPU)
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.add_middleware(docs.SecurityHeaders)
    app.add_middleware(telemetry.RequestLog)  # JSON request lines, once logs are configured
    keys = system.settings.keys()
    body_limit = binding.max_body_bytes()

    env_roles = system.settings.api_key_roles
    parse_roles(env_roles)  # a bad SYNCLINE_API_KEY_ROLES fails at start, not per request
    oidc = None
    if system.settings.oidc_issuer:  # optional OIDC bearer tokens
        from syncline.services.governance.oidc import OidcVerifier

        cfg = system.settings
        oidc = OidcVerifier(issuer=cfg.oidc_issuer, audience=cfg.oidc_audience,
                            jwks_url=cfg.oidc_jwks_url or None,
                            roles_claim=cfg.oidc_roles_claim, name_claim=cfg.oidc_name_claim)

    # read by api/auth.py's Requires and the console's sign-in; verified keys cached briefly
    app.state.authenticate = Authenticator(system.engine, system.clock, keys, env_roles, oidc)
    app.state.limiter = PrincipalLimiter(system.settings.rate_limit,
                                         system.settings.rate_limit_storage)
    require_key = Requires(*READERS)  # reads (and the API docs): any role
    Key = Annotated[Principal, Depends(require_key)]
    Integration = Annotated[Principal, Depends(Requires(INTEGRATION))]

    @app.get("/v1/health", dependencies=[Depends(public)])
    def health() -> dict[str, str]:
        with system.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__}

    @app.post("/v1/events", status_code=202)
    async def post_events(request: Request, _: Integration, wait: Annotated[float, Query(
            description="Seconds to wait for the messages to be applied (max 30); the "
            "answer then includes each outcome")] = 0.0) -> JSONResponse:
        """One CloudEvent or a batch, in any content mode of the CloudEvents HTTP binding
        (structured, batched, binary: api/binding.py). Bounded: 413 for a body over
        SYNCLINE_MAX_BODY_BYTES (5 MB) or a batch over 5,000; 400 for a body that is not
        UTF-8. Any other bad message is kept, rejected with its reason (422, or 207 in a batch)."""
        text = binding.decode_utf8(await binding.read_body(request, body_limit))
        items, is_batch = binding.items_of(request.headers, text)
        try:
            receipts = await intake.receive(items, traces.from_headers(request.headers))
        except OperationalError as busy:  # e.g. the write lock not had in busy_timeout
            raise HTTPException(503, "the database could not store the message now "
                                f"({type(busy.orig).__name__}); nothing was stored, retry",
                                headers={"Retry-After": "1"}) from None
        if runner is not None:
            runner.wake()
        outcomes = await _settled(receipts, min(max(wait, 0.0), MAX_WAIT_SECONDS))
        results = [r.as_dict() for r in receipts]
        for result in results:
            if result["inbox_id"] in outcomes:
                result["outcome"] = outcomes[result["inbox_id"]]
        rejected = sum(r.status == "rejected" for r in receipts)
        answer = JSONResponse if outcomes else binding.ReceiptsResponse  # outcomes: any JSON
        if is_batch:
            code = 202 if not rejected else (422 if rejected == len(receipts) else 207)
            return answer({"results": results}, status_code=code)
        only = results[0]
        code = {"accepted": 202, "duplicate": 200, "rejected": 422}[only["status"]]
        return answer(only, status_code=code)

    async def _settled(receipts: list[Receipt], wait: float) -> dict[str, dict[str, Any]]:
        """Wait up to `wait` seconds for the messages to settle; their outcomes if asked."""
        if wait <= 0:
            return {}
        ids = [r.inbox_id for r in receipts]

        def statuses() -> dict[str, str]:
            with system.engine.connect() as conn:
                return statuses_of(conn, ids)

        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if all(s in SETTLED for s in (await run_in_threadpool(statuses)).values()):
                break
            await asyncio.sleep(0.02)

        def read() -> dict[str, dict[str, Any]]:
            with system.engine.connect() as conn:
                return outcomes_of(conn, ids)

        return await run_in_threadpool(read)

    @app.get("/v1/events/{source:path}/{event_id}")
    def event_status(source: str, event_id: str, _: Key) -> dict[str, Any]:
        """What became of one message: received, applied, parked, failed, rejected, stale."""
        with system.engine.connect() as conn:
            found = event_outcome(conn, source, event_id)
        if found is None:
            raise HTTPException(404, f"no message {event_id} from {source} was received")
        return found

    @app.get("/v1/contracts")
    def list_contracts(_: Key, request: Request, response: Response,
                       limit: paging.Limit = paging.DEFAULT_LIMIT,
                       after: paging.After = None) -> list[dict[str, Any]]:
        """Contracts by number, a page at a time (``after`` a number; a `Link: rel="next"`
        header when more follow)."""
        with system.engine.connect() as conn:
            rows = contract_views.list_contracts(conn, after=after, limit=limit + 1)
        return paging.page(request, response, rows, limit, lambda r: r["number"])

    @app.get("/v1/contracts/{number}")
    def get_contract(number: str, _: Key) -> dict[str, Any]:
        with system.engine.connect() as conn:
            found = contract_views.find_contract(conn, number)
        if found is None:
            raise HTTPException(404, f"no contract {number}")
        return found

    @app.get("/v1/projects")
    def list_projects(_: Key, request: Request, response: Response,
                      limit: paging.Limit = paging.DEFAULT_LIMIT,
                      after: paging.After = None) -> list[dict[str, Any]]:
        """Projects by code with their WBS, a page at a time (``after`` a code; a
        `Link: rel="next"` header when more follow)."""
        with system.engine.connect() as conn:
            rows = contract_views.list_projects(conn, after=after, limit=limit + 1)
        return paging.page(request, response, rows, limit, lambda r: r["code"])

    @app.get("/v1/exceptions")
    def exceptions_(_: Key, status: str = "open", domain: str | None = None,
                    assigned_to: str | None = None, unassigned: bool = False
                    ) -> list[dict[str, Any]]:
        """Exceptions, oldest first, each with its business context (customer, contract,
        project, amount, source record); ``assigned_to`` or ``unassigned`` filter by owner."""
        with system.engine.connect() as conn:
            rows = list_exceptions(conn, status=None if status == "all" else status,
                                   domain=domain,
                                   assignee=UNASSIGNED if unassigned else assigned_to)
            context = business_context(conn, rows)
        return [{**e.as_dict(), "context": context[e.id].as_dict()} for e in rows]

    @app.get("/v1/exceptions/{exception_id}")
    def exception_(exception_id: str, _: Key) -> dict[str, Any]:
        with system.engine.connect() as conn:
            found = get_exception(conn, exception_id)
        if found is None:
            raise HTTPException(404, f"no exception {exception_id}")
        view, lineage = found
        return {"exception": view.as_dict(), "lineage": json.loads(json.dumps(lineage,
                                                                               default=str))}

    docs.install(app, require_key)  # /openapi.json behind the key, /docs from vendored assets
    for module in (billing, ledger, revenue, close, governance_api, masterdata, xref,
                   deliveries, staffing, kpis, exceptions_api):  # each
        app.include_router(module.router(system), prefix="/v1",  # route declares its roles
                           dependencies=[Depends(authenticated)])
    app.include_router(metrics.router(system), dependencies=[Depends(authenticated)])
    # vendors' webhooks carry their signature, not our key (each route declares its own)
    app.include_router(connectors_api.router(
        system, connectors or connectors_api.configured_connectors(system)), prefix="/v1")
    app.mount("/console", console_app(system, app))  # the web console (console/app.py)
    return app
