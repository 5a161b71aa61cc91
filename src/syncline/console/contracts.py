"""Contracts: the list (searchable) and a contract's page — its revenue schedule with the
engine's explanations (``services.revenue.views.schedule_json``, as ``syncline revenue
contract`` and ``GET /v1/contracts/{number}/schedule``), the month's revenue
(``statement.month_statement``), the period statement from the books (``syncline contract
statement``: ``services.ledger.statements``), and a what-if of a proposed amendment
(``services.revenue.proposal``: computed, never stored — a GET form). Any reader role."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from syncline.bootstrap import Syncline
from syncline.console import web
from syncline.ledger.periods import is_period_name, period_of
from syncline.revenue import RevenueError, compute_schedule
from syncline.services.billing.run import month_bounds
from syncline.services.contracts import contract_head, list_contracts
from syncline.services.governance.roles import READERS
from syncline.services.ledger.reports import report_options
from syncline.services.ledger.statements import FIGURES, contract_statement
from syncline.services.revenue.facts import build_contract
from syncline.services.revenue.proposal import (
    ProposalRefused,
    ProposedAmendment,
    lines_in_force,
    what_if_amendment,
)
from syncline.services.revenue.statement import month_statement
from syncline.services.revenue.sync import DEFAULT_POLICY
from syncline.services.revenue.views import schedule_json

SEARCHED = ("number", "customer_name", "deal_id", "entity_code", "billing_type", "currency")


def _date(text: str, name: str) -> date | None:
    try:
        return date.fromisoformat(text) if text.strip() else None
    except ValueError:
        raise HTTPException(422, f"{name} must be a date YYYY-MM-DD, got {text!r}") from None


def _money(text: str, name: str) -> str | None:
    try:
        return str(Decimal(text.strip().replace(",", ""))) if text.strip() else None
    except InvalidOperation:
        raise HTTPException(422, f"{name} must be an amount, got {text!r}") from None


def proposal_of(q: dict[str, str], today: date) -> ProposedAmendment:
    """The what-if form as a proposed amendment (contract.amended's changes): a line's new
    price, a line removed, a fixed-fee line added, and/or a new end date (which, as in an
    amendment, moves the changed line's end: the line is repriced at its price in force when
    no new price is given)."""
    effective = _date(q.get("effective", ""), "effective date") or today
    end = _date(q.get("end_date", ""), "new end date")
    line, price = q.get("line", ""), _money(q.get("price", ""), "new price")
    changes: list[dict[str, Any]] = []
    if line and (price is not None or end is not None):
        changes.append({"action": "change_price", "line_id": line,
                        "amount": price if price is not None else q.get("price_in_force")})
    if q.get("remove", ""):
        changes.append({"action": "remove_line", "line_id": q["remove"]})
    added = _money(q.get("add_amount", ""), "added line's amount")
    if q.get("add_line", "").strip() or added is not None:
        change: dict[str, Any] = {"action": "add_line", "line_id": q.get("add_line", "").strip(),
                                  "kind": "fixed_fee", "amount": added,
                                  "description": q.get("add_description", "").strip()
                                  or q.get("add_line", "").strip()}
        if q.get("add_distinct"):
            change.update(distinct=True, priced_at_ssp=q.get("add_ssp") == "yes")
        changes.append(change)
    return ProposedAmendment(effective, tuple(changes), end, reason="console what-if")


def router(system: Syncline) -> APIRouter:
    pages = APIRouter()

    def _reader(request: Request) -> None:
        web.require(web.principal(request), READERS, "reading contracts")

    @pages.get("/contracts", response_class=HTMLResponse)
    def contract_list(request: Request, q: str = "") -> HTMLResponse:
        _reader(request)
        with system.engine.connect() as conn:
            every = list_contracts(conn)
        wanted = q.strip().lower()
        rows = [c for c in every if not wanted
                or any(wanted in str(c.get(k) or "").lower() for k in SEARCHED)]
        return web.page(request, "contracts.html", nav="contracts", q=q, rows=rows,
                        total=len(every))

    def _contract(number: str, period: str) -> dict[str, Any]:
        """What the contract page shows for ``period`` (default: this month, within the
        contract's term)."""
        today = system.clock().date()
        with system.engine.connect() as conn:
            rc = build_contract(conn, number)
            if rc is None:
                raise HTTPException(404, f"no contract {number}")
            head = contract_head(conn, number)
            assert head is not None  # build_contract found it
            if not period:
                period = min(max(period_of(today), str(head["start_date"])[:7]),
                             str(head["end_date"])[:7])
            if not is_period_name(period):
                raise HTTPException(422, f"period must be YYYY-MM, got {period!r}")
            statement = contract_statement(conn, number, period, report_options(system))
            lines = lines_in_force(conn, number)
        as_of = max(today, month_bounds(period)[1])
        try:
            result = compute_schedule(rc, DEFAULT_POLICY, as_of)
        except RevenueError as err:
            raise HTTPException(422, f"the revenue engine refuses {number}: {err.location}: "
                                f"{err.rule}") from None
        schedule = schedule_json(result)
        try:
            month = month_statement(result, period)
        except KeyError:
            month = None
        return {"head": head, "period": period, "schedule": schedule, "month": month,
                "statement": statement.as_dict(), "figures": FIGURES, "lines": lines,
                "today": today.isoformat(), "explained": _explained(schedule)}

    @pages.get("/contracts/{number}", response_class=HTMLResponse)
    def contract_page(request: Request, number: str, period: str = "") -> HTMLResponse:
        _reader(request)
        return web.page(request, "contract.html", nav="contracts", whatif=None, form={},
                        **_contract(number, period))

    @pages.get("/contracts/{number}/whatif", response_class=HTMLResponse)
    def whatif(request: Request, number: str) -> HTMLResponse:
        _reader(request)
        form = dict(request.query_params)
        form.pop("price_in_force", None)  # read from the contract below, never from the form
        today = system.clock().date()
        status, problem, answer = 200, None, None
        with system.engine.connect() as conn:
            in_force = {ln["line_id"]: ln["amount"] for ln in lines_in_force(conn, number)}
            if form.get("line") in in_force and in_force[form["line"]] is not None:
                form["price_in_force"] = str(in_force[form["line"]])
            try:
                answer = what_if_amendment(conn, number, proposal_of(form, today),
                                           DEFAULT_POLICY, today, system.clock())
            except (ProposalRefused, RevenueError) as refused:
                status, problem = 422, str(refused)
            except HTTPException as bad:  # a field that is no date or amount
                status, problem = bad.status_code, str(bad.detail)
        if answer is None and problem is None:
            raise HTTPException(404, f"no contract {number}")
        if request.headers.get("hx-request"):
            return web.page(request, "_whatif.html", status_code=status, whatif=answer,
                            problem=problem, number=number)
        return web.page(request, "contract.html", status_code=status, nav="contracts",
                        whatif=answer, problem=problem, form=form,
                        **_contract(number, form.get("period", "")))

    return pages


def _explained(schedule: dict[str, Any]) -> dict[str, str]:
    """Explanation subject → anchor id, so a schedule cell links to its explanation."""
    return {e["subject"]: "exp-" + "-".join(e["subject"].replace("(", "").replace(")", "")
                                            .split()) for e in schedule["explanations"]}
