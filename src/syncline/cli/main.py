"""`syncline` — demo, simulate, ingest, serve, exceptions, replay, billing."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator, Sized
from datetime import timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console
from rich.table import Table

from syncline.bootstrap import Syncline
from syncline.cli import billing, close, contract, ledger, revenue
from syncline.cli.common import _progress, _settings, _system, err, out
from syncline.config import Settings

app = typer.Typer(help="Syncline keeps a services firm's CRM, HR, PSA, billing, revenue and ERP "
                  "in step.", no_args_is_help=True, pretty_exceptions_enable=False)
exceptions_app = typer.Typer(help="The exception queue: what needs a person.")
app.add_typer(exceptions_app, name="exceptions")


CHUNK = 2000  # messages received per transaction


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(lines)
    while chunk := list(islice(it, size)):
        yield chunk


def _stream_lines(stream: BinaryIO, read: list[int]) -> Iterator[str]:
    """The non-blank lines of a JSON-lines stream, one at a time (constant memory); `read`
    counts the bytes consumed. A line that is not UTF-8 is kept with its bad bytes escaped
    (``\\xff``), which no JSON parser accepts: it is rejected as unreadable, not lost."""
    for raw in stream:
        read[0] += len(raw)
        line = raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n")
        if line.strip():
            yield line


def ingest_lines(sys_: Syncline, lines: Iterable[str], console: Console, quiet: bool, *,
                 total_bytes: int | None = None, read: list[int] | None = None) -> None:
    """Receive `lines` in chunks of `CHUNK` (one transaction each), then apply.

    Memory does not grow with the stream: lines are taken one chunk at a time. The progress
    shows bytes when the size is known (`total_bytes`, with `read` counting), else messages
    against the count when `lines` is a sized collection, else a running count."""
    from syncline.services.messaging.inbox import pending_count, receive_many

    sized = isinstance(lines, Sized)
    with _progress(console, quiet) as progress:
        if total_bytes is not None and read is not None:
            recv = progress.add_task("Receiving (raw to inbox)", total=total_bytes)
        else:
            recv = progress.add_task("Receiving (raw to inbox)",
                                     total=len(lines) if isinstance(lines, Sized) else None)
        received = 0
        for chunk in _chunks(lines, CHUNK):
            with sys_.engine.begin() as conn:
                receive_many(conn, chunk, now=sys_.clock())
            received += len(chunk)
            if total_bytes is not None and read is not None:
                progress.update(recv, completed=read[0],
                                description=f"Receiving (raw to inbox): {received:,} messages")
            else:
                progress.advance(recv, len(chunk))
        if not sized:
            progress.update(recv, total=progress.tasks[recv].completed)
        with sys_.engine.connect() as conn:
            pending = pending_count(conn)
        apply = progress.add_task("Applying (units of work)", total=pending)

        def advance(n: int) -> None:  # released messages are applied again: grow the total
            task = progress.tasks[apply]
            if task.completed + n > (task.total or 0):
                progress.update(apply, total=task.completed + n)
            progress.advance(apply, n)

        sys_.process(progress=advance)


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for PostgreSQL or an in-memory database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    db = parsed.database
    if not parsed.drivername.startswith("sqlite") or not db or db == ":memory:" \
            or db.startswith("file:"):
        return None
    return Path(db)


# `syncline demo` recreates its database on every run and must never delete one it did not
# make: it stamps the SQLite file it creates with this application id (a field of the file's
# header, kept by VACUUM and backups) before anything else is written to it.
DEMO_APPLICATION_ID = 0x5359_444D  # "SYDM"


def stamp_demo(path: Path) -> None:
    """Create ``path`` as an empty SQLite database marked as the demo's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute(f"PRAGMA application_id={DEMO_APPLICATION_ID}")
        con.commit()
    finally:
        con.close()


def made_by_demo(path: Path) -> bool:
    """Whether the SQLite file at ``path`` was created by `stamp_demo`."""
    if not path.is_file():
        return False
    con = sqlite3.connect(path)  # opening never writes; a file that is no database fails below
    try:
        found = con.execute("PRAGMA application_id").fetchone()
    except sqlite3.Error:
        return False
    finally:
        con.close()
    return bool(found) and found[0] == DEMO_APPLICATION_ID


def _reset_sqlite(settings: Settings) -> None:
    """Recreate the demo's SQLite database — only if the demo made it (or there is none).

    The demo stamps the file it creates (`stamp_demo`); any other existing database is refused
    with exit code 2, never deleted. PostgreSQL and in-memory databases are left as they are.
    The DBOS system database beside it goes too, unless SYNCLINE_DBOS_SYSTEM_URL names one of
    its own.
    """
    path = sqlite_path(settings.database_url)
    if path is None:
        return
    if path.exists() and not (path.is_file() and path.stat().st_size == 0) \
            and not made_by_demo(path):
        err.print(f"[red]{path} exists and was not created by `syncline demo`.[/] The demo "
                  "recreates its database on every run, so it only ever deletes one it made "
                  "itself. Point it elsewhere: --database-url sqlite:///var/demo.db (or any "
                  "path that does not exist yet).", highlight=False)
        raise typer.Exit(2)
    files = [path]
    dbos = sqlite_path(settings.workflow_db_url())
    if not settings.dbos_system_url and dbos is not None:
        files.append(dbos)
    for base in files:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(base) + suffix).unlink(missing_ok=True)
    stamp_demo(path)


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Simulation seed")] = 7,
    customers: Annotated[int, typer.Option(help="Customers to simulate")] = 12,
    workers: Annotated[int, typer.Option(help="Workers to simulate")] = 30,
    months: Annotated[int, typer.Option(help="Months to simulate")] = 6,
    delivery_faults: Annotated[bool, typer.Option(
        help="Duplicates, reordering, late arrival")] = False,
    data_faults: Annotated[bool, typer.Option(help="Inject bad records")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    database_url: Annotated[str | None, typer.Option(
        help="Database (default: SYNCLINE_DATABASE_URL or ./var/syncline.db). An SQLite "
        "file the demo created is recreated; any other existing one is refused")] = None,
) -> None:
    """Simulate a consulting firm, ingest its events, bill each month, print a summary."""
    from syncline.ledger.periods import next_period, period_of
    from syncline.services.billing.run import run_billing
    from syncline.services.close import steps as close
    from syncline.services.revenue.sync import recognize
    from syncline.services.state import summary
    from syncline.simulator import SimulationConfig, end_of_stream, simulate

    started = time.perf_counter()
    try:  # the arguments first: nothing is touched for a command that cannot run
        cfg = SimulationConfig(seed=seed, customers=customers, workers=workers, months=months,
                               delivery_faults=delivery_faults, data_faults=data_faults)
    except ValueError as bad:
        err.print(f"[red]Invalid demo arguments:[/] {bad}")
        raise typer.Exit(2) from None
    settings = _settings(database_url)
    _reset_sqlite(settings)
    console = err if as_json else out
    sim = simulate(cfg)
    lines = sim.to_jsonl().splitlines()
    console.print(f"[bold]Syncline demo[/] — seed {seed}: {customers} customers, {workers} "
                  f"workers, {months} months from {cfg.start}; {len(lines):,} messages"
                  + (" with delivery faults" if delivery_faults else "")
                  + (" with data faults" if data_faults else ""))
    sys_ = _system(settings)
    ingest_lines(sys_, lines, console, as_json)
    stream_end = end_of_stream(sim)
    sys_.sweep(as_of=stream_end + timedelta(hours=settings.park_max_age_hours))
    periods = [period_of(cfg.start)]
    while len(periods) < months:
        periods.append(next_period(periods[-1]))
    mode = settings.revenue_recognition
    month_end = {"intercompany_charges": 0, "fx_revaluation_entries": 0}
    with _progress(console, as_json) as progress:
        task = progress.add_task("Monthly billing, revenue, intercompany, FX revaluation",
                                 total=len(periods))
        for period in periods:
            run_billing(sys_.engine, period, sys_.ref, sys_.charts, sys_.clock(),
                        revenue_recognition=mode, rules=sys_.ledger.rules,
                        closed_period_policy=sys_.ledger.closed_period_policy)
            recognize(sys_.engine, period, sys_.charts, sys_.clock(),
                      post_journals=mode == "engine", rules=sys_.ledger.rules,
                      closed_period_policy=sys_.ledger.closed_period_policy,
                      functional=sys_.ledger.functional_currencies)
            # the close's month-end ledger steps (the demo does not lock its periods)
            month_end["intercompany_charges"] += close.intercompany(sys_, period, None)[
                "charges"]
            month_end["fx_revaluation_entries"] += close.fx_revaluation(sys_, period, None).get(
                "entries", 0)
            progress.advance(task)
    from syncline.services.messaging import delivery as dl

    total = len(dl.pending(sys_.engine))
    with _progress(console, as_json) as progress:
        task = progress.add_task("Delivering outbox (DBOS workflows)", total=total)
        sys_.deliver(progress=lambda n: progress.advance(task, n))
    with sys_.engine.connect() as conn:
        result = summary(conn)
    result.update(month_end)
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["database_url"] = settings.database_url
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return
    _print_summary(result)


def _print_summary(s: dict[str, Any]) -> None:
    table = Table(title="Syncline demo summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key in ("events_received", "events_applied", "duplicates_ignored", "parked", "released",
                "rejected", "failed", "stale", "customers", "contracts", "projects",
                "billable_items", "invoices", "journal_entries", "intercompany_charges",
                "fx_revaluation_entries", "outbox_delivered", "outbox_pending"):
        table.add_row(key.replace("_", " "), f"{s[key]:,}")
    for cur, amount in s["invoiced_by_currency"].items():
        table.add_row(f"invoiced ({cur})", f"{Decimal(amount):,}")
    for cur, amount in s["revenue_by_currency"].items():
        table.add_row(f"revenue recognized ({cur})", f"{Decimal(amount):,}")
    exc = s["exceptions_by_domain"]
    table.add_row("open exceptions", ", ".join(f"{d}: {n}" for d, n in exc.items()) or "none")
    table.add_row("trial balance balanced", "yes" if s["trial_balance_balanced"] else "[red]NO")
    table.add_row("state fingerprint", s["state_fingerprint"][:16] + "…")
    table.add_row("time", f"{s['seconds']} s")
    out.print(table)
    out.print("\nNext: [bold]syncline exceptions list[/] to see what needs a person, and "
              "[bold]syncline serve[/] to start the API on http://127.0.0.1:8000 "
              "(docs at /docs).")


@app.command("simulate")
def simulate_cmd(
    seed: Annotated[int, typer.Option()] = 7,
    customers: Annotated[int, typer.Option()] = 12,
    workers: Annotated[int, typer.Option()] = 30,
    months: Annotated[int, typer.Option()] = 6,
    delivery_faults: Annotated[bool, typer.Option()] = False,
    data_faults: Annotated[bool, typer.Option()] = False,
) -> None:
    """Write a simulated firm's CloudEvents as JSON lines to stdout."""
    from syncline.simulator import SimulationConfig, simulate

    sim = simulate(SimulationConfig(seed=seed, customers=customers, workers=workers,
                                    months=months, delivery_faults=delivery_faults,
                                    data_faults=data_faults))
    sys.stdout.write(sim.to_jsonl())


@app.command()
def ingest(
    file: Annotated[str, typer.Argument(help="A JSON-lines file of CloudEvents, or - for stdin")],
    database_url: Annotated[str | None, typer.Option()] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    deliver: Annotated[bool, typer.Option(help="Deliver the outbox afterwards")] = True,
) -> None:
    """Receive and apply a stream of events (every line kept raw, bad ones rejected).

    The stream is read line by line and received in chunks of 2,000 messages, one
    transaction each, so memory stays flat whatever its size; killed part-way, run it again:
    what was received is acknowledged as duplicates and the rest goes on."""
    from syncline.services.messaging.inbox import ingest_counts

    read = [0]
    if file == "-":
        source: Any = contextlib.nullcontext(sys.stdin.buffer)
        size = None
    else:
        path = Path(file)
        if not path.is_file():
            err.print(f"[red]No such file:[/] {file}")
            raise typer.Exit(2)
        source, size = path.open("rb"), path.stat().st_size
    sys_ = _system(database_url)
    with source as stream:
        ingest_lines(sys_, _stream_lines(stream, read), err, quiet, total_bytes=size,
                     read=read if size is not None else None)
    sys_.sweep()
    if deliver:
        sys_.deliver()
    with sys_.engine.connect() as conn:
        out.print_json(data=ingest_counts(conn))


def _existing_system(database_url: str | None) -> Syncline:
    """The wired system of a database that must already exist (no SQLite file is made)."""
    settings = _settings(database_url)
    path = sqlite_path(settings.database_url)
    if path is not None and not path.is_file():
        err.print(f"[red]No database at {path}[/] (set SYNCLINE_DATABASE_URL or "
                  "--database-url)")
        raise typer.Exit(1)
    return _system(settings)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """The state fingerprint and what is waiting: inbox by status, parked, outbox, exceptions."""
    from syncline.services.messaging.inbox import queue_depths
    from syncline.services.state import fingerprint

    sys_ = _existing_system(database_url)
    with sys_.engine.connect() as conn:  # one read snapshot: waits for no writer
        result = {"database_url": _shown(sys_.settings.database_url),
                  "state_fingerprint": fingerprint(conn), **queue_depths(conn)}
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return
    table = Table(title="Syncline status", show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("database", result["database_url"])
    table.add_row("state fingerprint", result["state_fingerprint"])
    table.add_row("inbox", ", ".join(f"{k}: {v:,}" for k, v in result["inbox"].items()))
    table.add_row("deliveries received", f"{result['deliveries']:,}")
    table.add_row("parked (waiting)", f"{result['parked_waiting']:,}")
    table.add_row("outbox", ", ".join(f"{k}: {v:,}" for k, v in result["outbox"].items())
                  or "empty")
    table.add_row("outbox not delivered", f"{result['outbox_pending']:,}")
    table.add_row("open exceptions", ", ".join(
        f"{d}: {n:,}" for d, n in result["exceptions_open"].items()) or "none")
    out.print(table)


@app.command()
def rebuild(
    to: Annotated[str, typer.Option("--to", help="A fresh database to rebuild into "
                                    "(an SQLite file that does not exist yet, or an empty "
                                    "PostgreSQL database)")],
    database_url: Annotated[str | None, typer.Option(help="The live database")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Replay the inbox log (every stored message, in arrival order) into a fresh database and
    compare its state fingerprint with the live one: exit 0 when equal, 1 when not.

    Only messages make state here: what operator commands made in the live database (billing
    runs, revenue recognition, closes) is not in the log, so after those the fingerprints
    differ and the parts that differ are named."""
    from syncline.services.messaging.inbox import messages_in_order, pending_count
    from syncline.services.state import canonical_state, fingerprint

    live = _existing_system(database_url)
    target = _settings(to)
    if _shown(target.database_url) == _shown(live.settings.database_url):
        err.print("[red]--to names the live database;[/] give a fresh one.")
        raise typer.Exit(2)
    path = sqlite_path(target.database_url)
    if path is not None and path.exists():
        err.print(f"[red]{path} already exists;[/] rebuild only writes into a fresh database.")
        raise typer.Exit(2)
    fresh = _system(live.settings.model_copy(update={"database_url": target.database_url}))
    with fresh.engine.connect() as conn:
        if pending_count(conn) or messages_in_order(conn, limit=1):
            err.print(f"[red]{_shown(target.database_url)} is not empty;[/] rebuild only "
                      "writes into a fresh database.")
            raise typer.Exit(2)

    def log() -> Iterator[str]:
        after = 0
        while True:
            with live.engine.connect() as conn:
                page = messages_in_order(conn, after=after)
            if not page:
                return
            after = page[-1][0]
            yield from (raw for _, raw in page)

    ingest_lines(fresh, log(), err, quiet)
    with live.engine.connect() as conn:
        live_fp, live_state = fingerprint(conn), canonical_state(conn)
    with fresh.engine.connect() as conn:
        fresh_fp, fresh_state = fingerprint(conn), canonical_state(conn)
    differs = {part: {"live": len(rows), "rebuilt": len(fresh_state.get(part, []))}
               for part, rows in live_state.items() if rows != fresh_state.get(part)}
    result = {"live": live_fp, "rebuilt": fresh_fp, "same": live_fp == fresh_fp,
              "rebuilt_database_url": _shown(target.database_url)}
    if differs:
        result["differs"] = differs
    out.print_json(data=result)
    if live_fp != fresh_fp:
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Start the HTTP API (FastAPI, /v1). Needs an API key: SYNCLINE_API_KEYS."""
    import secrets

    import uvicorn

    from syncline.api.app import create_app

    settings = _settings(database_url)
    if not settings.keys():
        key = secrets.token_urlsafe(24)
        settings = settings.model_copy(update={"api_keys": key})
        err.print(f"No SYNCLINE_API_KEYS set: this run's API key is [bold]{key}[/] "
                  "(send it as the X-API-Key header).")
    uvicorn.run(create_app(_system(settings)), host=host, port=port)


@exceptions_app.command("list")
def exceptions_list(
    status: Annotated[str, typer.Option(help="open | resolved | skipped | all")] = "open",
    domain: Annotated[str | None, typer.Option(help="finance | pmo | hr | it | billing")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List exceptions (open ones by default)."""
    from syncline.services.messaging.exceptions import list_exceptions

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        rows = list_exceptions(conn, status=None if status == "all" else status, domain=domain)
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    out.print(f"[bold]Exceptions ({status})[/]")
    for r in rows:  # two lines each: readable at any terminal width
        out.print(f"[bold]{r.id}[/]  [cyan]{r.domain:<8}[/] {r.severity:<8} {r.code}",
                  highlight=False)
        out.print(f"    {r.message}", highlight=False, overflow="fold")
    out.print(f"{len(rows)} exception(s). `syncline exceptions show ID` for remediation and "
              "lineage.")


@exceptions_app.command("show")
def exceptions_show(
    exception_id: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """One exception: what is wrong, what to do, and where it came from."""
    from syncline.services.messaging.exceptions import get_exception

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        found = get_exception(conn, exception_id)
    if found is None:
        err.print(f"[red]No exception {exception_id}[/]")
        raise typer.Exit(1)
    view, lineage = found
    if as_json:
        print(json.dumps({"exception": view.as_dict(), "lineage": lineage}, indent=2,
                         default=str))
        return
    out.print(f"[bold]{view.id}[/]  {view.domain} / {view.severity} / {view.status}")
    out.print(f"[bold]What:[/] {view.message}")
    out.print(f"[bold]Field:[/] {view.field or '-'}")
    out.print(f"[bold]Do:[/] {view.remediation}")
    out.print(f"[bold]Objects:[/] {', '.join(f'{k} {v}' for k, v in view.objects) or '-'}")
    if "inbox" in lineage:
        msg = lineage["inbox"]
        out.print(f"[bold]Message:[/] {msg['id']} {msg['type']} from {msg['source']} "
                  f"(status {msg['status']}); replay with `syncline replay {msg['id']}`")
        try:
            out.print_json(lineage["raw"])
        except json.JSONDecodeError:
            out.print(lineage["raw"][:2000], markup=False, highlight=False)


@app.command()
def replay(
    inbox_id: Annotated[str, typer.Argument(help="The inbox id (inb_…) of the message")],
    data_file: Annotated[Path | None, typer.Option(
        help="Edit first: a JSON file with the corrected `data` (the original is kept)")] = None,
    reason: Annotated[str, typer.Option(help="Why (audited)")] = "replayed by operator",
    actor: Annotated[str, typer.Option(help="Who (audited)")] = "operator",
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Re-apply one stored message, idempotently (optionally after editing its data)."""
    from syncline.services.messaging.processor import EditRefused, edit_message
    from syncline.services.messaging.processor import replay as do_replay

    sys_ = _system(database_url)
    try:
        if data_file is not None:
            try:
                data = json.loads(data_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as problem:
                err.print(f"[red]Cannot read {data_file}:[/] {problem}")
                raise typer.Exit(2) from None
            if not isinstance(data, dict):
                err.print("[red]--data-file must hold a JSON object (the event's data)[/]")
                raise typer.Exit(2)
            edit_message(sys_.engine, inbox_id, data, actor=actor, reason=reason,
                         clock=sys_.clock)
        status, _ = do_replay(sys_.engine, inbox_id, sys_.ref, sys_.clock, actor=actor)
    except KeyError:
        err.print(f"[red]No inbox message {inbox_id}[/]")
        raise typer.Exit(1) from None
    except EditRefused as refused:
        err.print(f"[red]Edit refused:[/] {refused}")
        raise typer.Exit(2) from None
    sys_.deliver()
    out.print(f"{inbox_id}: {status}")


# Each engine's commands live in their own module; they are registered here, explicitly.
app.add_typer(revenue.app, name="revenue")
for _commands in (billing, ledger, close):
    _commands.register(app)
contract.register(app)
