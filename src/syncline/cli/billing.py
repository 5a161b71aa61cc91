"""`syncline billing …` (runs, credits, approvals) and `syncline invoices …` (read, render)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from syncline.cli.common import _principal, _system, err, out
from syncline.ledger.periods import is_period_name

billing_app = typer.Typer(help="Billing runs, credit notes and approvals of held amounts.")
invoices_app = typer.Typer(help="Invoices and credit notes: list, show, render HTML / PDF.")

DbOption = Annotated[str | None, typer.Option(help="Database URL")]


@billing_app.command("run")
def billing_run(
    period: Annotated[str, typer.Option(help="YYYY-MM")],
    entity: Annotated[str | None, typer.Option(help="Legal entity code")] = None,
    dry_run: Annotated[bool, typer.Option(help="Compute and report, store nothing")] = False,
    database_url: DbOption = None,
) -> None:
    """Run the billing cycle for a month (idempotent: a second run changes nothing)."""
    from syncline.services.billing.run import run_billing

    if not is_period_name(period):
        err.print(f"[red]--period must be YYYY-MM, got {period!r}[/]")
        raise typer.Exit(2)
    sys_ = _system(database_url)
    principal = _principal(sys_, "billing", action="a billing run")
    result = run_billing(sys_.engine, period, sys_.ref, sys_.charts, sys_.clock(), entity=entity,
                         dry_run=dry_run,
                         revenue_recognition=sys_.settings.revenue_recognition,
                         rules=sys_.ledger.rules,
                         closed_period_policy=sys_.ledger.closed_period_policy)
    if not dry_run:
        from syncline.services.governance.audit import record as record_action

        record_action(sys_.engine, actor=principal.name, action="billing.run",
                      subject=f"billing/{period}/{entity or '*'}", now=sys_.clock(),
                      after={"invoices": result.invoices})
        sys_.deliver()
    out.print_json(data=result.as_dict())


@billing_app.command("caps")
def billing_caps(
    contract: Annotated[str | None, typer.Option(help="Only this contract's caps")] = None,
    on: Annotated[str | None, typer.Option(
        help="Limits in force on this day YYYY-MM-DD (default today)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOption = None,
) -> None:
    """Not-to-exceed caps: limit, ceiling, billed (net of credits), held, headroom."""
    from datetime import date

    from syncline.services.billing.queries import contract_exists, list_caps

    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        err.print(f"[red]--on must be YYYY-MM-DD, got {on!r}[/]")
        raise typer.Exit(2) from None
    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        if contract and not contract_exists(conn, contract):
            err.print(f"[red]no contract {contract}[/]")
            raise typer.Exit(1)
        rows = list_caps(conn, on=day or sys_.clock().date(), contract=contract)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Caps ({len(rows)})", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("contract", "cap", "kind", "limit", "ceiling", "billed", "held", "headroom",
                ""):
        table.add_column(col, justify="left" if col in ("contract", "cap", "kind", "")
                         else "right")
    for r in rows:
        table.add_row(r["contract"], r["cap_id"], r["kind"],
                      *(f"{Decimal(r[k]):,}" for k in ("limit", "ceiling", "billed", "held",
                                                       "headroom")), r["currency"])
    out.print(table)


@billing_app.command("credit")
def billing_credit(
    invoice: Annotated[str, typer.Argument(help="Invoice number")],
    item: Annotated[list[str], typer.Option(help="Item key or origin, e.g. time:TE-1")],
    reason: Annotated[str, typer.Option(help="Why the customer is credited")],
    corrected_hours: Annotated[str | None, typer.Option(
        help="Time corrected (not just rejected): bill these hours again")] = None,
    database_url: DbOption = None,
) -> None:
    """Request a credit note for items of an invoice; once another principal approves it
    (`billing approve`), the next run of its entity issues it."""
    from syncline.services.billing.maker_checker import ask_credit
    from syncline.services.billing.queries import find_invoice

    try:
        hours = Decimal(corrected_hours) if corrected_hours is not None else None
    except InvalidOperation:
        err.print(f"[red]--corrected-hours must be a number, got {corrected_hours!r}[/]")
        raise typer.Exit(2) from None
    sys_ = _system(database_url)
    principal = _principal(sys_, "billing", action="requesting a credit")
    with sys_.engine.connect() as conn:
        if find_invoice(conn, invoice) is None:
            err.print(f"[red]no invoice {invoice}[/]")
            raise typer.Exit(1)
    made = ask_credit(sys_, by=principal, threshold=sys_.settings.approval_threshold,
                      invoice_number=invoice, keys=item, reason=reason, corrected_hours=hours)
    if made["status"] == "pending_approval":
        out.print(made["message"])
        return
    out.print(("Credit requested" if made["status"] == "queued" else "Already requested")
              + f" on {invoice} for {', '.join(item)}: run `syncline billing run` to issue it.")


@billing_app.command("release")
def billing_release(
    item_key: Annotated[str, typer.Argument(help="Held item key (see `billing holds`)")],
    reason: Annotated[str, typer.Option(help="Why bill past the cap (audited)")],
    database_url: DbOption = None,
) -> None:
    """Request the release of an amount held at a hard cap; another principal approves it
    (`billing approve`), then the next run bills it."""
    from syncline.services.billing.maker_checker import RequestRefused, ask_release

    sys_ = _system(database_url)
    principal = _principal(sys_, "billing", action="requesting a release")
    try:
        made = ask_release(sys_, item_key, by=principal,
                           threshold=sys_.settings.approval_threshold, reason=reason)
    except RequestRefused as refused:
        err.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from None
    out.print(made.get("message") or f"{item_key} released: the next `billing run` bills it.")


@billing_app.command("approve")
def billing_approve(
    request: Annotated[str, typer.Argument(
        help="Approval request id (apr_…, see `billing requests`), or a held item key whose "
        "release was requested")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject it instead")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (audited)")] = None,
    database_url: DbOption = None,
) -> None:
    """Approve (or reject) another principal's request — an adjustment, a credit, a release
    past a hard cap — and carry it out. Your own request is refused (exit 2)."""
    from syncline.services.billing import maker_checker as mc
    from syncline.services.governance.approvals import ApprovalRefused
    from syncline.services.governance.roles import Forbidden

    sys_ = _system(database_url)
    principal = _principal(sys_, "finance", "controller", action="approving")
    approval_id = request if request.startswith("apr_") else (
        mc.find_pending_release(sys_, request) or request)
    try:
        done = (mc.reject if reject else mc.approve)(sys_, approval_id, by=principal,
                                                     reason=reason)
    except Forbidden as refused:
        err.print(f"[red]Refused:[/] {refused}")
        raise typer.Exit(2) from None
    except ApprovalRefused as refused:
        err.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from None
    if reject:
        out.print(f"{approval_id} rejected by {principal.name}.")
        return
    if done.get("problems"):
        err.print(f"[red]{approval_id} approved by {principal.name}, but {done['status']}:[/] "
                  + "; ".join(done["problems"]))
        raise typer.Exit(1)
    what = done.get("item") or done.get("invoice") or ""
    out.print(f"{approval_id} approved by {principal.name} (requested by "
              f"{done['requested_by']}): {what} {done['status']}; the next `billing run` "
              "bills it.")


@billing_app.command("requests")
def billing_requests(
    status: Annotated[str, typer.Option(help="pending | approved | rejected | all")]
    = "pending",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOption = None,
) -> None:
    """Maker-checker requests: adjustments, credits, releases, and who asked and decided."""
    from syncline.services.governance.approvals import list_approvals

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        rows = [a.as_dict() for a in list_approvals(conn, None if status == "all" else status)]
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"Requests ({len(rows)})", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("id", "kind", "subject", "amount", "status", "requested_by", "decided_by"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["kind"], r["subject"],
                      f"{r['amount'] or ''} {r['currency'] or ''}".strip(), r["status"],
                      r["requested_by"], r["decided_by"] or "")
    out.print(table)


@billing_app.command("adjust")
def billing_adjust(
    contract: Annotated[str, typer.Option(help="Contract number")],
    amount: Annotated[str, typer.Option(help="Signed amount: -250.00 is a discount")],
    description: Annotated[str, typer.Option(help="The invoice line's text")],
    reason: Annotated[str, typer.Option(help="Why (kept with the request)")],
    currency: Annotated[str | None, typer.Option(help="Default: the contract's")] = None,
    on: Annotated[str | None, typer.Option(help="Service date YYYY-MM-DD (default today)")]
    = None,
    adjusts: Annotated[list[str] | None, typer.Option(
        help="Open item key the adjustment is about (repeatable)")] = None,
    adjustment_id: Annotated[str | None, typer.Option(
        help="Your id for it (a repeat with the same id changes nothing)")] = None,
    database_url: DbOption = None,
) -> None:
    """Request a manual adjustment (discount, goodwill credit, one-off fee) on a contract's
    next invoice, as the CLI's principal. Once another principal approves it (`billing
    approve`; at once below SYNCLINE_APPROVAL_THRESHOLD) it is sent as a
    `billing.adjustment.requested` message: kept raw, validated, applied like any other input
    (the API takes requests at POST /v1/billing/adjustments)."""
    from syncline.services.billing.maker_checker import ask_adjustment

    sys_ = _system(database_url)
    principal = _principal(sys_, "billing", action="requesting an adjustment")
    outcome = ask_adjustment(sys_, by=principal, threshold=sys_.settings.approval_threshold,
                             contract=contract, amount=amount, description=description,
                             reason=reason, currency=currency, on=on, adjusts=adjusts or [],
                             adjustment_id=adjustment_id)
    if outcome["status"] == "pending_approval":
        out.print(outcome["message"])
        return
    if outcome["status"] != "applied":
        err.print(f"[red]adjustment {outcome['adjustment_id']} {outcome['status']}:[/] "
                  + "; ".join(outcome["problems"]))
        raise typer.Exit(1)
    out.print(f"adjustment {outcome['adjustment_id']} recorded as item {outcome['item']}: "
              "the next `billing run` of its entity bills it as its own line.")


@invoices_app.command("list")
def invoices_list(
    period: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
    entity: Annotated[str | None, typer.Option()] = None,
    contract: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOption = None,
) -> None:
    """Invoices, by entity and number."""
    from syncline.services.billing.queries import list_invoices

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        rows = list_invoices(conn, period=period, entity=entity, contract=contract)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Invoices ({len(rows)})", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for col, justify in (("number", "left"), ("date", "left"), ("contract", "left"),
                         ("total", "right"), ("", "left"), ("CN", "right"),
                         ("customer", "left")):
        table.add_column(col, justify=justify, no_wrap=col != "customer")  # type: ignore[arg-type]
    for r in rows:
        table.add_row(r["number"], r["invoice_date"], r["contract_number"],
                      f"{Decimal(r['total']):,}", r["currency"], str(r["credit_notes"] or ""),
                      r["customer_name"])
    out.print(table)


@invoices_app.command("show")
def invoices_show(
    number: Annotated[str, typer.Argument(help="Invoice (or credit note) number")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    html: Annotated[Path | None, typer.Option(help="Write a printable HTML page")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Write a PDF")] = None,
    database_url: DbOption = None,
) -> None:
    """One invoice with its lines, the items they bill, tax, FX and credit notes."""
    from syncline.services.billing.queries import (
        credit_note_dict,
        find_credit_note,
        find_invoice,
        invoice_dict,
    )

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        inv = find_invoice(conn, number)
        if inv is None:
            note = find_credit_note(conn, number)
            if note is None:
                err.print(f"[red]no invoice or credit note {number}[/]")
                raise typer.Exit(1)
            data = credit_note_dict(note)
            if as_json:
                print(json.dumps(data, indent=2))
            else:
                _print_doc("CREDIT NOTE", data, f"on invoice {note.invoice_number}")
            return
        data = invoice_dict(conn, inv)
    if html or pdf:
        from syncline.console.invoice_render import render_invoice_html, render_invoice_pdf

        if html:
            html.write_text(render_invoice_html(inv, ref=sys_.ref), encoding="utf-8")
            err.print(f"HTML written to {html}")
        if pdf:
            pdf.write_bytes(render_invoice_pdf(inv, ref=sys_.ref))
            err.print(f"PDF written to {pdf}")
    if as_json:
        print(json.dumps(data, indent=2))
    elif not (html or pdf):
        _print_doc("INVOICE", data, f"due {data['due_date']}")


def _print_doc(title: str, d: dict, subtitle: str) -> None:  # type: ignore[type-arg]
    date_ = d.get("invoice_date") or d.get("credit_date")
    out.print(f"[bold]{title} {d['number']}[/]  {date_}  {subtitle}")
    out.print(f"{d['customer']} — contract {d['contract']} ({d['entity']}, {d['currency']})")
    table = Table(show_header=True, title_justify="left")
    table.add_column("description")
    table.add_column("qty", justify="right")
    table.add_column("unit price", justify="right")
    table.add_column("amount", justify="right")
    table.add_column("items", justify="right")
    for ln in d["lines"]:
        table.add_row(ln["description"], ln["quantity"], f"{Decimal(ln['unit_price']):,}",
                      f"{Decimal(ln['amount']):,}", str(len(ln["item_keys"])))
    out.print(table)
    out.print(f"subtotal {Decimal(d['subtotal']):,}   tax {Decimal(d['tax']):,}"
              + (f" ({d['tax_code']})" if d.get("tax_code") else "")
              + f"   [bold]total {Decimal(d['total']):,} {d['currency']}[/]")
    for note in d.get("notes") or ():
        out.print(f"[dim]{note}[/]")
    if d.get("fx"):
        fx = d["fx"]
        out.print(f"FX: 1 {d['currency']} = {fx['rate']} {fx['functional_currency']} "
                  f"({fx['source']}, {fx['as_of']})")
    for cn in d.get("credit_notes") or ():
        out.print(f"credit note {cn['number']} {cn['date']}: {Decimal(cn['total']):,} — "
                  f"{cn['reason']}")
    if d.get("reason"):
        out.print(f"reason: {d['reason']}")


@invoices_app.command("credit-notes")
def invoices_credit_notes(
    invoice: Annotated[str | None, typer.Option(help="Only those on this invoice")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOption = None,
) -> None:
    """Credit notes, by entity and number."""
    from syncline.services.billing.queries import list_credit_notes

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        rows = list_credit_notes(conn, invoice=invoice)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Credit notes ({len(rows)})", title_justify="left")
    for col in ("number", "date", "invoice", "total", "reason"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["number"], r["credit_date"], r["invoice_number"],
                      f"{Decimal(r['total']):,} {r['currency']}", r["reason"])
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(billing_app, name="billing")
    app.add_typer(invoices_app, name="invoices")
