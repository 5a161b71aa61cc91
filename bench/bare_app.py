"""The bare baseline of the HTTP bench: a FastAPI endpoint that stores each request body with
one INSERT into SQLite (WAL, synchronous=NORMAL, as Syncline's) and answers 202."""

from __future__ import annotations

import os
import sqlite3
import threading

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

DB = os.environ.get("BARE_DB", "bare.db")
# One connection, writes taken in turn: SQLite has one writer, and threads contending for its
# lock through the busy handler would make the baseline slower than it needs to be.
_conn = sqlite3.connect(DB, timeout=30, isolation_level=None, check_same_thread=False)
_conn.execute("PRAGMA journal_mode=WAL")
_conn.execute("PRAGMA synchronous=NORMAL")
_conn.execute("CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, body TEXT)")
_lock = threading.Lock()


def _insert(body: str) -> None:
    with _lock:
        _conn.execute("INSERT INTO raw (body) VALUES (?)", (body,))


# FastAPI's native OpenTelemetry off, as in Syncline's app (api/app.py): it looks for global
# providers on every request, a cost neither server needs
app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})


@app.post("/events")
async def events(request: Request) -> JSONResponse:
    body = (await request.body()).decode("utf-8")
    await run_in_threadpool(_insert, body)
    return JSONResponse({"status": "accepted"}, status_code=202)
