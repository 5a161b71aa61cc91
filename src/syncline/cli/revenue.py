"""``syncline revenue``: schedules and modification what-ifs from contract files.

Translates only: loads the file (services.revenue_files), calls the pure engine, prints a
Rich table or JSON (amounts as decimal strings). A bad file is an error naming the field
and the rule, with exit code 2, never a traceback.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from syncline.revenue import (
    RevenueError,
    ScheduleResult,
    balances_by_period,
    compare_known_at,
    compute_schedule,
    remaining_obligations,
    what_if,
)
from syncline.services.revenue.files import ContractFileError, load
from syncline.services.revenue.views import _fx_json, _m, schedule_json

app = typer.Typer(help="Revenue recognition (ASC 606 / IFRS 15) from contract files.",
                  no_args_is_help=True)


def _fail(console: Console, message: str, errors: list[str]) -> None:
    console.print(f"[bold red]error:[/] {message}")
    for e in errors:
        console.print(f"  - {e}")
    raise typer.Exit(code=2)


def _parse_date(value: str | None, name: str) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name
                                 ) from None


def _parse_instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 instant",
                                 param_hint="--known-at") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _print_schedule(console: Console, r: ScheduleResult) -> None:
    cur = r.currency
    console.print(f"[bold]Contract {r.contract.contract_id}[/] {r.contract.customer} — {cur}, "
                  f"as of {r.as_of.isoformat()}"
                  + (f", as known at {r.known_at.isoformat()}" if r.known_at else ""))
    for s in r.segments:
        t = Table(title=f"Allocation — {s.kind} from {s.starts.isoformat()} "
                        f"(transaction price {_m(s.allocation.transaction_price, cur)})")
        for col in ("obligation", "SSP", "SSP basis", "fixed", "variable", "allocated"):
            t.add_column(col, justify="left" if col in ("obligation", "SSP basis") else "right")
        for a in s.allocation.lines:
            t.add_row(a.obligation_id, _m(a.ssp, cur), a.ssp_formula, _m(a.fixed, cur),
                      _m(a.variable, cur), _m(a.total, cur))
        console.print(t)
        for a in s.allocation.lines:  # on which basis, where it is not plain relative SSP
            if a.variable_basis or a.basis != "relative SSP (32-31)":
                console.print(f"  {a.obligation_id} allocated on: fixed — {a.basis}"
                              + (f"; variable — {a.variable_basis}" if a.variable_basis else ""))
    t = Table(title="Revenue by period (forecast after the as-of period is dimmed)")
    t.add_column("period")
    for ln in r.obligations:
        t.add_column(ln.obligation_id, justify="right")
    t.add_column("total", justify="right")
    t.add_column("cumulative", justify="right")
    revs = [ln.revenue for ln in r.obligations]
    cum = 0
    for k, p in enumerate(r.periods):
        row = [v[k] for v in revs]
        cum += sum(row)
        style = "dim" if k > r.as_of_index else ""
        t.add_row(p.key, *(_m(v, cur) for v in row), _m(sum(row), cur), _m(cum, cur),
                  style=style)
    console.print(t)
    if r.catch_ups:
        t = Table(title="Catch-up adjustments")
        for col in ("obligation", "period", "date", "amount", "cause"):
            t.add_column(col)
        for c in r.catch_ups:
            t.add_row(c.obligation_id, c.period, c.date.isoformat() if c.date else "",
                      _m(c.amount, cur), c.cause)
        console.print(t)
    for d in r.decisions:
        console.print(f"[bold]Modification {d.modification_id}[/] ({d.effective}): "
                      f"{d.treatment.value} — {d.citation}"
                      + (" [yellow](override)[/]" if d.overridden else ""))
        for reason in d.reasons:
            console.print(f"  - {reason}")
    t = Table(title="Contract balances (net per contract)")
    for col in ("date", "revenue", "receivable", "contract asset", "contract liability"):
        t.add_column(col, justify="right")
    for b in balances_by_period(r):
        t.add_row(b.date.isoformat(), _m(b.revenue, cur), _m(b.receivable, cur),
                  _m(b.contract_asset, cur), _m(b.contract_liability, cur))
    console.print(t)
    fx = _fx_json(r)
    if fx and fx["realized"]:
        t = Table(title=f"Realized FX in {fx['functional_currency']} "
                        f"(total {fx['total_gain_loss']})")
        for col in ("invoice", "paid", "amount", "invoice rate", "settlement rate",
                    "at invoice", "at settlement", "gain / loss"):
            t.add_column(col, justify="left" if col in ("invoice", "paid") else "right")
        for x in fx["realized"]:
            t.add_row(x["invoice"], x["payment_date"], x["amount"], x["invoice_rate"] or "-",
                      x["settlement_rate"] or "-", x["at_invoice"], x["at_settlement"],
                      x["gain_loss"] if not x["missing"] else f"no {x['missing']}")
        console.print(t)
    rpo = remaining_obligations(r)
    t = Table(title=f"Remaining performance obligations: {_m(rpo.total, cur)} "
                    f"(disclosed {_m(rpo.disclosed, cur)})")
    t.add_column("obligation")
    for lab in rpo.bucket_labels:
        t.add_column(lab, justify="right")
    t.add_column("expedient")
    for x in rpo.lines:
        t.add_row(x.obligation_id, *(_m(v, cur) for v in x.buckets), x.expedient)
    console.print(t)


@app.command()
def schedule(
    file: Path = typer.Argument(..., help="Contract file (YAML or JSON, syncline.revenue/v1)"),
    as_of: str | None = typer.Option(None, "--as-of", help="Report date YYYY-MM-DD (today)"),
    known_at: str | None = typer.Option(
        None, "--known-at", help="Recompute as known at this instant; shows the difference"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (amounts as strings)"),
) -> None:
    """Allocation, revenue per period and obligation, catch-ups, balances, RPO."""
    console = Console()
    day = _parse_date(as_of, "--as-of")
    instant = _parse_instant(known_at)
    try:
        cf = load(file)
        if instant is None:
            result = compute_schedule(cf.contract, cf.policy, day)
            diff = None
        else:
            cmp = compare_known_at(cf.contract, cf.policy, day, instant)
            result, diff = cmp.then, cmp
    except ContractFileError as exc:
        _fail(console, f"{exc.source} is not a valid contract file", [str(e) for e in exc.errors])
        return
    except RevenueError as exc:
        _fail(console, "the contract cannot be computed", [f"{exc.location}: {exc.rule}"])
        return
    if as_json:
        out = schedule_json(result)
        if diff is not None:
            out["difference_to_now"] = [
                {"obligation": d.obligation_id, "period": d.period,
                 "then": _m(d.then, result.currency), "now": _m(d.now, result.currency)}
                for d in diff.differences]
        typer.echo(json.dumps(out, indent=2))
        return
    _print_schedule(console, result)
    if diff is not None:
        t = Table(title=f"Difference: as known at {instant} vs now")
        for col in ("obligation", "period", "then", "now", "change"):
            t.add_column(col, justify="right")
        for d in diff.differences:
            t.add_row(d.obligation_id, d.period, _m(d.then, result.currency),
                      _m(d.now, result.currency), _m(d.now - d.then, result.currency))
        console.print(t if diff.differences else "No difference to what is known now.")


@app.command()
def whatif(
    file: Path = typer.Argument(..., help="Contract file (YAML or JSON, syncline.revenue/v1)"),
    modification: str = typer.Option(..., "--modification", help="Modification id"),
    as_of: str | None = typer.Option(None, "--as-of", help="Report date YYYY-MM-DD (today)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (amounts as strings)"),
) -> None:
    """One modification under all three treatments, side by side, with the decision."""
    console = Console()
    day = _parse_date(as_of, "--as-of")
    try:
        cf = load(file)
        w = what_if(cf.contract, cf.policy, day, modification)
    except ContractFileError as exc:
        _fail(console, f"{exc.source} is not a valid contract file", [str(e) for e in exc.errors])
        return
    except RevenueError as exc:
        _fail(console, "the what-if cannot be computed", [f"{exc.location}: {exc.rule}"])
        return
    cur = w.outcomes[0].result.currency
    if as_json:
        typer.echo(json.dumps({
            "modification": w.modification_id,
            "decision": {"treatment": w.decision.treatment.value,
                         "citation": w.decision.citation, "reasons": list(w.decision.reasons)},
            "outcomes": [{"treatment": o.treatment.value, "chosen": o.chosen,
                          "revenue_to_date": _m(o.revenue_to_date, cur),
                          "catch_up": _m(o.catch_up, cur), "rpo": _m(o.rpo, cur),
                          "revenue_by_period": {k: _m(v, cur) for k, v in o.revenue_by_period}}
                         for o in w.outcomes],
            "not_applicable": [{"treatment": t.value, "reason": why}
                               for t, why in w.not_applicable]}, indent=2))
        return
    d = w.decision
    console.print(f"[bold]Modification {d.modification_id}[/]: the tests give "
                  f"[bold]{d.derived_treatment.value}[/] ({d.citation})")
    for reason in d.reasons:
        console.print(f"  - {reason}")
    t = Table(title="Three treatments side by side")
    t.add_column("period")
    for o in w.outcomes:
        t.add_column(o.treatment.value + (" *" if o.chosen else ""), justify="right")
    for k, (key, _) in enumerate(w.outcomes[0].revenue_by_period):
        t.add_row(key, *(_m(o.revenue_by_period[k][1], cur) for o in w.outcomes))
    t.add_row("to date", *(_m(o.revenue_to_date, cur) for o in w.outcomes), style="bold")
    t.add_row("catch-up", *(_m(o.catch_up, cur) for o in w.outcomes))
    t.add_row("RPO", *(_m(o.rpo, cur) for o in w.outcomes))
    console.print(t)
    for tr, why in w.not_applicable:
        console.print(f"{tr.value}: not applicable — {why}")


@app.command()
def recognize(
    period: str = typer.Option(..., "--period", help="YYYY-MM"),
    contract: str | None = typer.Option(None, "--contract", help="Only this contract"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what it would do; change nothing"),
    database_url: str | None = typer.Option(None, help="Database (SYNCLINE_DATABASE_URL)"),
) -> None:
    """Recognize revenue for a month from stored facts: schedules and journals (idempotent)."""
    from syncline.cli.common import _system
    from syncline.ledger.periods import is_period_name
    from syncline.services.revenue.sync import recognize as run

    console = Console()
    if not is_period_name(period):
        _fail(console, "bad --period", [f"expected YYYY-MM, got {period!r}"])
        return
    sys_ = _system(database_url)
    result = run(sys_.engine, period, sys_.charts, sys_.clock(), only=contract,
                 post_journals=sys_.settings.revenue_recognition == "engine",
                 rules=sys_.ledger.rules,
                 closed_period_policy=sys_.ledger.closed_period_policy,
                 functional=sys_.ledger.functional_currencies, dry_run=dry_run)
    console.print_json(data={"period": period, "dry_run": dry_run,
                             "contracts": result.contracts,
                             "journal_entries": result.journal_entries,
                             "refused": result.refused,
                             "posting_failed": result.posting_failed,
                             "revenue": {k: str(v) for k, v in result.revenue.items()},
                             "by_contract": result.by_contract})


@app.command("contract")
def contract_schedule(
    number: str = typer.Argument(..., help="Contract number, e.g. C-1001"),
    as_of: str | None = typer.Option(None, "--as-of", help="Report date YYYY-MM-DD (today)"),
    period: str | None = typer.Option(
        None, "--period", help="YYYY-MM: also the revenue recognised in that month (as of "
        "its end unless --as-of)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (amounts as strings)"),
    database_url: str | None = typer.Option(None, help="Database (SYNCLINE_DATABASE_URL)"),
) -> None:
    """A stored contract's schedule, computed from Syncline's facts, with explanations;
    with --period, the revenue recognised in that month per obligation."""
    from syncline.cli.common import _system
    from syncline.ledger.periods import is_period_name
    from syncline.services.billing.run import month_bounds
    from syncline.services.revenue.facts import build_contract
    from syncline.services.revenue.statement import month_statement
    from syncline.services.revenue.sync import DEFAULT_POLICY

    console = Console()
    if period is not None and not is_period_name(period):
        _fail(console, "bad --period", [f"expected YYYY-MM, got {period!r}"])
        return
    day = _parse_date(as_of, "--as-of") if as_of or period is None else \
        month_bounds(period)[1]
    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        rc = build_contract(conn, number)
    if rc is None:
        _fail(console, f"no contract {number}", ["see `syncline` API /v1/contracts"])
        return
    try:
        result = compute_schedule(rc, DEFAULT_POLICY, day)
    except RevenueError as exc:
        _fail(console, "the contract cannot be computed", [f"{exc.location}: {exc.rule}"])
        return
    month = None
    if period is not None:
        try:
            month = month_statement(result, period)
        except KeyError:
            _fail(console, f"contract {number} has no period {period}", [])
            return
    if as_json:
        body = schedule_json(result)
        if month is not None:
            body["month"] = month
        typer.echo(json.dumps(body, indent=2))
        return
    _print_schedule(console, result)
    if month is not None:
        _print_month(console, month)


def _print_month(console: Console, m: dict[str, Any]) -> None:
    t = Table(title=f"Revenue recognised in {m['period']} — {m['contract']}, {m['currency']}"
                    + (" (forecast)" if m["forecast"] else ""))
    for col in ("obligation", "method", "in the month", "cumulative"):
        t.add_column(col, justify="left" if col in ("obligation", "method") else "right")
    for o in m["obligations"]:
        t.add_row(o["id"], o["method"], o["revenue"], o["cumulative"])
    t.add_row("total", "", m["revenue"], m["cumulative"], style="bold")
    console.print(t)
    for c in m["catch_ups"]:
        console.print(f"  catch-up {c['obligation']} {c['date'] or ''} {c['amount']}: "
                      f"{c['cause']}")
    for b in m["billed"]:
        console.print(f"  billed: {b['kind']} {b['document']} {b['date']} {b['amount']}")
    bal = m["balance"]
    console.print(f"  billed in the month (net): {m['billed_net']}; balance at month end: "
                  f"contract asset {bal['contract_asset']}, contract liability "
                  f"{bal['contract_liability']}")
