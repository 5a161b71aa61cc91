"""HTTP endpoints of billing: the billing run (with a dry run), invoices (JSON, printable HTML,
PDF), credit notes, billable items, amounts held at caps, a contract's caps. Mounted under
/v1 with the API-key dependency."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from syncline.api import paging
from syncline.api.auth import Requires, needs
from syncline.bootstrap import Syncline
from syncline.ledger.periods import is_period_name
from syncline.services.billing import queries as q
from syncline.services.governance import audit
from syncline.services.governance.roles import BILLING, READERS, Principal


class BillingRun(BaseModel):
    period: str = Field(description="The billing cycle, YYYY-MM")
    entity: str | None = Field(default=None, description="One legal entity (default: all)")
    dry_run: bool = Field(default=False, description="Compute and report; store nothing")


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["billing"])

    @api.post("/billing/runs")
    def billing_run(body: BillingRun, principal: Annotated[Principal, Depends(Requires(BILLING))]
                    ) -> dict[str, Any]:
        """Run the billing cycle of a month, as `syncline billing run` does (idempotent: a
        second run issues nothing). With ``dry_run`` nothing is stored: the answer says what
        would be issued — invoices with their totals and lines, credit notes, items held at
        a hard cap, soft-cap write-offs, problems. Outbox rows of a real run are delivered
        by the background worker (or `syncline deliver`)."""
        from syncline.services.billing.run import run_billing

        if not is_period_name(body.period):
            raise HTTPException(422, f"period must be YYYY-MM, got {body.period!r}")
        if body.entity is not None and system.ref.entity(body.entity) is None:
            raise HTTPException(422, f"no legal entity {body.entity!r}")
        result = run_billing(system.engine, body.period, system.ref, system.charts,
                             system.clock(), entity=body.entity, dry_run=body.dry_run,
                             revenue_recognition=system.settings.revenue_recognition,
                             rules=system.ledger.rules,
                             closed_period_policy=system.ledger.closed_period_policy)
        made = result.as_dict()
        if not body.dry_run:
            audit.record(system.engine, actor=principal.name, action="billing.run",
                         subject=f"billing/{body.period}/{body.entity or '*'}",
                         now=system.clock(), after={k: made.get(k) for k in (
                             "invoices", "credit_notes", "problems") if k in made})
        return made

    @api.get("/invoices", dependencies=needs(*READERS))
    def list_invoices(period: str | None = None, entity: str | None = None,
                      contract: str | None = None) -> list[dict[str, Any]]:
        with system.engine.connect() as conn:
            return q.list_invoices(conn, period=period, entity=entity, contract=contract)

    @api.get("/invoices/{number}.html", dependencies=needs(*READERS), response_class=HTMLResponse)
    def invoice_html(number: str) -> HTMLResponse:
        from syncline.console.invoice_render import render_invoice_html

        with system.engine.connect() as conn:
            inv = q.find_invoice(conn, number)
        if inv is None:
            raise HTTPException(404, f"no invoice {number}")
        return HTMLResponse(render_invoice_html(inv, ref=system.ref))

    @api.get("/invoices/{number}.pdf", dependencies=needs(*READERS), response_class=Response,
             responses={200: {"content": {"application/pdf": {}}}})
    def invoice_pdf(number: str) -> Response:
        from syncline.console.invoice_render import render_invoice_pdf

        with system.engine.connect() as conn:
            inv = q.find_invoice(conn, number)
        if inv is None:
            raise HTTPException(404, f"no invoice {number}")
        return Response(render_invoice_pdf(inv, ref=system.ref), media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})

    @api.get("/invoices/{number}", dependencies=needs(*READERS))
    def get_invoice(number: str) -> dict[str, Any]:
        with system.engine.connect() as conn:
            inv = q.find_invoice(conn, number)
            if inv is None:
                raise HTTPException(404, f"no invoice {number}")
            return q.invoice_dict(conn, inv)

    @api.get("/credit-notes", dependencies=needs(*READERS))
    def list_credit_notes(invoice: str | None = None,
                          entity: str | None = None) -> list[dict[str, Any]]:
        with system.engine.connect() as conn:
            return q.list_credit_notes(conn, invoice=invoice, entity=entity)

    @api.get("/credit-notes/{number}", dependencies=needs(*READERS))
    def get_credit_note(number: str) -> dict[str, Any]:
        with system.engine.connect() as conn:
            note = q.find_credit_note(conn, number)
        if note is None:
            raise HTTPException(404, f"no credit note {number}")
        return q.credit_note_dict(note)

    @api.get("/billable-items", dependencies=needs(*READERS))
    def list_items(contract: str | None = None, status: str | None = None,
                   invoice: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
                   ) -> list[dict[str, Any]]:
        with system.engine.connect() as conn:
            return q.list_items(conn, contract=contract, status=status, invoice=invoice,
                                limit=limit)

    @api.get("/billing/holds", dependencies=needs(*READERS))
    def list_holds(request: Request, response: Response, status: str = "held",
                   limit: paging.Limit = paging.DEFAULT_LIMIT,
                   after: paging.After = None) -> list[dict[str, Any]]:
        """Amounts held at hard caps by item key (``status``: held, approved, billed or all),
        a page at a time (``after`` an item key; a `Link: rel="next"` header when more
        follow)."""
        with system.engine.connect() as conn:
            rows = q.list_holds(conn, status=None if status == "all" else status,
                                after=after, limit=limit + 1)
        return paging.page(request, response, rows, limit, lambda r: r["item_key"])

    @api.get("/contracts/{number}/caps", dependencies=needs(*READERS))
    def contract_caps(number: str, on: date | None = None) -> list[dict[str, Any]]:
        """The contract's not-to-exceed caps: limit, tolerance and ceiling in force on ``on``
        (default today), billed (net of credit notes), held, approved, headroom, and the
        limit's history."""
        with system.engine.connect() as conn:
            if not q.contract_exists(conn, number):
                raise HTTPException(404, f"no contract {number}")
            return q.list_caps(conn, on=on or system.clock().date(), contract=number)

    return api
