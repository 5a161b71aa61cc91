"""The demo and the simulator: `syncline demo` (a simulated firm end to end), `syncline simulate`.

The demo recreates only a database it created itself (stamped with an application id)."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from syncline.cli.common import _progress, _settings, _system, err, out
from syncline.cli.ingest import ingest_lines
from syncline.config import Settings


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
        for suffix in ("", "-wal", "-shm", "-journal", "-waiting"):
            Path(str(base) + suffix).unlink(missing_ok=True)
    stamp_demo(path)


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
    sys_ = _system(settings)
    sim = simulate(cfg, sys_.ref)  # the configured firm (SYNCLINE_MASTER_DATA), else the built-in
    lines = sim.to_jsonl().splitlines()
    console.print(f"[bold]Syncline demo[/] — seed {seed}: {customers} customers, {workers} "
                  f"workers, {months} months from {cfg.start}; {len(lines):,} messages"
                  + (" with delivery faults" if delivery_faults else "")
                  + (" with data faults" if data_faults else ""))
    ingest_lines(sys_, lines, console, as_json)
    stream_end = end_of_stream(sim)
    sys_.sweep(as_of=stream_end + timedelta(hours=settings.park_max_age_hours))
    periods = [period_of(cfg.start)]
    while len(periods) < months:
        periods.append(next_period(periods[-1]))
    mode = settings.revenue_recognition
    month_end = {"intercompany_charges": 0, "fx_revaluation_entries": 0, "erp_journals": 0}
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
            month_end["erp_journals"] += close.erp_journals(sys_, period, None)["journals"]
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
                "fx_revaluation_entries", "erp_journals", "outbox_delivered", "outbox_pending"):
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


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command("simulate")(simulate_cmd)
