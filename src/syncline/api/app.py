"""FastAPI application: events in, read models out; every endpoint but health needs a key."""


import importlib
import json
import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from syncline import __version__
from syncline.adapters.db.tables import (
    contracts,
    customers,
    projects,
    wbs_tasks,
)
from syncline.bootstrap import Syncline
from syncline.services.messaging.exceptions import get_exception, list_exceptions
from syncline.services.messaging.inbox import receive_many

MAX_BATCH = 5000


def _row(r: Any) -> dict[str, Any]:
    return {k: (str(v) if v is not None and not isinstance(v, (str, int, bool)) else v)
            for k, v in r._mapping.items()}


def create_app(system: Syncline) -> FastAPI:
    app = FastAPI(title="Syncline API", version=__version__,
                  description="Events in (CloudEvents 1.0), business state out.")
    keys = system.settings.keys()

    def require_key(x_api_key: Annotated[str | None, Header()] = None) -> str:
        if not x_api_key or not any(secrets.compare_digest(x_api_key, k) for k in keys):
            raise HTTPException(401, "missing or invalid X-API-Key header")
        return x_api_key

    Key = Annotated[str, Depends(require_key)]

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        with system.engine.connect() as conn:
            conn.execute(select(1))
        return {"status": "ok", "version": __version__}

    @app.post("/v1/events", status_code=202)
    async def post_events(request: Request, _: Key) -> JSONResponse:
        body = await request.body()
        text = body.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        items: list[Any]
        if isinstance(parsed, list):
            if len(parsed) > MAX_BATCH:
                raise HTTPException(413, f"a batch holds at most {MAX_BATCH} events")
            items = [json.dumps(i) if not isinstance(i, dict) else i for i in parsed]
            if not items:
                raise HTTPException(422, "an empty batch: send one event or a non-empty list")
        else:
            items = [text if parsed is None or not isinstance(parsed, dict) else parsed]
        with system.engine.begin() as conn:
            receipts = receive_many(conn, items, now=system.clock())
        system.process()
        results = [r.as_dict() for r in receipts]
        rejected = sum(r.status == "rejected" for r in receipts)
        if isinstance(parsed, list):
            code = 202 if not rejected else (422 if rejected == len(receipts) else 207)
            return JSONResponse({"results": results}, status_code=code)
        only = results[0]
        code = {"accepted": 202, "duplicate": 200, "rejected": 422}[only["status"]]
        return JSONResponse(only, status_code=code)

    @app.get("/v1/contracts")
    def list_contracts(_: Key) -> list[dict[str, Any]]:
        with system.engine.connect() as conn:
            return [_row(r) for r in conn.execute(
                select(contracts, customers.c.name.label("customer_name"))
                .join(customers).order_by(contracts.c.number))]

    @app.get("/v1/contracts/{number}")
    def get_contract(number: str, _: Key) -> dict[str, Any]:
        with system.engine.connect() as conn:
            r = conn.execute(select(contracts).where(contracts.c.number == number)).first()
            if r is None:
                raise HTTPException(404, f"no contract {number}")
            return _row(r)

    @app.get("/v1/projects")
    def list_projects(_: Key) -> list[dict[str, Any]]:
        with system.engine.connect() as conn:
            out = []
            for p in conn.execute(select(projects).order_by(projects.c.code)):
                d = _row(p)
                d["wbs"] = [_row(t) for t in conn.execute(
                    select(wbs_tasks.c.code, wbs_tasks.c.name, wbs_tasks.c.billable)
                    .where(wbs_tasks.c.project_id == p.id).order_by(wbs_tasks.c.code))]
                out.append(d)
            return out

    @app.get("/v1/exceptions")
    def exceptions_(_: Key, status: str = "open", domain: str | None = None
                    ) -> list[dict[str, Any]]:
        with system.engine.connect() as conn:
            return [e.as_dict() for e in list_exceptions(
                conn, status=None if status == "all" else status, domain=domain)]

    @app.get("/v1/exceptions/{exception_id}")
    def exception_(exception_id: str, _: Key) -> dict[str, Any]:
        with system.engine.connect() as conn:
            found = get_exception(conn, exception_id)
        if found is None:
            raise HTTPException(404, f"no exception {exception_id}")
        view, lineage = found
        return {"exception": view.as_dict(), "lineage": json.loads(json.dumps(lineage,
                                                                               default=str))}

    for name in ("syncline.api.billing", "syncline.api.ledger", "syncline.api.revenue",
                 "syncline.api.close"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        app.include_router(module.router(system), prefix="/v1",
                           dependencies=[Depends(require_key)])
    return app
