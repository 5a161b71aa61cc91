"""FastAPI application: events in, read models out; every endpoint but health needs a key."""


import json
import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from syncline import __version__
from syncline.api import billing, close, ledger, revenue
from syncline.bootstrap import Syncline
from syncline.services import contracts as contract_views
from syncline.services.messaging.exceptions import get_exception, list_exceptions
from syncline.services.messaging.inbox import receive_many

MAX_BATCH = 5000


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
            conn.exec_driver_sql("SELECT 1")
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
            return contract_views.list_contracts(conn)

    @app.get("/v1/contracts/{number}")
    def get_contract(number: str, _: Key) -> dict[str, Any]:
        with system.engine.connect() as conn:
            found = contract_views.find_contract(conn, number)
        if found is None:
            raise HTTPException(404, f"no contract {number}")
        return found

    @app.get("/v1/projects")
    def list_projects(_: Key) -> list[dict[str, Any]]:
        with system.engine.connect() as conn:
            return contract_views.list_projects(conn)

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

    for module in (billing, ledger, revenue, close):  # each engine's routes, explicitly
        app.include_router(module.router(system), prefix="/v1",
                           dependencies=[Depends(require_key)])
    return app
