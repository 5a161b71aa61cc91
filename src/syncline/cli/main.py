"""`syncline` — demo, simulate, ingest, serve, exceptions, replay, billing."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from syncline.bootstrap import Syncline
from syncline.cli import billing, close, ledger, revenue
from syncline.cli.common import _progress, _settings, _system, err, out
from syncline.config import Settings

app = typer.Typer(help="Syncline keeps a services firm's CRM, HR, PSA, billing, revenue and ERP "
                  "in step.", no_args_is_help=True, pretty_exceptions_enable=False)
exceptions_app = typer.Typer(help="The exception queue: what needs a person.")
app.add_typer(exceptions_app, name="exceptions")


def ingest_lines(sys_: Syncline, lines: list[str], console: Console, quiet: bool) -> None:
    from syncline.services.messaging.inbox import pending_count, receive_many

    chunk = 2000
    with _progress(console, quiet) as progress:
        recv = progress.add_task("Receiving (raw to inbox)", total=len(lines))
        for start in range(0, len(lines), chunk):
            with sys_.engine.begin() as conn:
                receive_many(conn, lines[start:start + chunk], now=sys_.clock())
            progress.advance(recv, min(chunk, len(lines) - start))
        with sys_.engine.connect() as conn:
            pending = pending_count(conn)
        apply = progress.add_task("Applying (units of work)", total=pending)

        def advance(n: int) -> None:  # released messages are applied again: grow the total
            task = progress.tasks[apply]
            if task.completed + n > (task.total or 0):
                progress.update(apply, total=task.completed + n)
            progress.advance(apply, n)

        sys_.process(progress=advance)


def _reset_sqlite(settings: Settings) -> None:
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite") or not url.database:
        return
    for path in (url.database, settings.workflow_db_url().removeprefix("sqlite:///")):
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)


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
        help="Database (default: SYNCLINE_DATABASE_URL or ./var/syncline.db; "
        "an SQLite file is recreated)")] = None,
) -> None:
    """Simulate a consulting firm, ingest its events, bill each month, print a summary."""
    from syncline.ledger.periods import next_period, period_of
    from syncline.services.billing.run import run_billing
    from syncline.services.close import steps as close
    from syncline.services.revenue.sync import recognize
    from syncline.services.state import summary
    from syncline.simulator import SimulationConfig, end_of_stream, simulate

    started = time.perf_counter()
    settings = _settings(database_url)
    _reset_sqlite(settings)
    console = err if as_json else out
    cfg = SimulationConfig(seed=seed, customers=customers, workers=workers, months=months,
                           delivery_faults=delivery_faults, data_faults=data_faults)
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
    """Receive and apply a stream of events (every line kept raw, bad ones rejected)."""
    from syncline.services.state import summary

    if file == "-":
        text = sys.stdin.read()
    else:
        path = Path(file)
        if not path.exists():
            err.print(f"[red]No such file:[/] {file}")
            raise typer.Exit(2)
        text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    sys_ = _system(database_url)
    ingest_lines(sys_, lines, err, quiet)
    sys_.sweep()
    if deliver:
        sys_.deliver()
    with sys_.engine.connect() as conn:
        s = summary(conn)
    keys = ("events_received", "events_applied", "duplicates_ignored", "parked", "released",
            "rejected", "failed", "exceptions_by_domain")
    out.print_json(data={k: s[k] for k in keys})


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
