"""Ledger over HTTP: reports, exports, periods and contract statements (mounted under /v1
with the API key)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from syncline.api.auth import Requires, needs
from syncline.bootstrap import Syncline
from syncline.ledger.periods import is_period_name
from syncline.services.governance.roles import CONTROLLER, FINANCE, READERS, Principal
from syncline.services.ledger.period_checks import entity_problem
from syncline.services.ledger.periods import (
    PeriodAction,
    PeriodChangeRefused,
    change_period,
    list_periods,
    period_history,
)
from syncline.services.ledger.reports import (
    AS_OF,
    EXPORT_MEDIA,
    EXPORTS,
    REPORTS,
    MappingInvalid,
    archive,
    export_books,
    record_close,
    report_csv,
    report_options,
)
from syncline.services.ledger.statements import UnknownContract, contract_statement
from syncline.services.workforce.reports import WORKFORCE_REPORTS, workforce_report


class PeriodChange(BaseModel):
    """Who acts and in which role come from the credentials: a body naming an ``actor`` or a
    ``role`` is refused (422, extra fields are forbidden)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, description="Why (required to lock or reopen; "
                               "audited)")


_STATUS = {"forbidden": 403, "transition": 409}


def _period(period: str | None, required: bool = True) -> str | None:
    if period is None:
        if required:
            raise HTTPException(422, "period is required (YYYY-MM)")
        return None
    if not is_period_name(period):
        raise HTTPException(422, f"period must be YYYY-MM, got {period!r}")
    return period


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["ledger"])

    def _entity(entity: str | None) -> None:
        """422 for an entity that is neither in the reference data nor in the books."""
        with system.engine.connect() as conn:
            problem = entity_problem(conn, system.ref, entity)
        if problem:
            raise HTTPException(422, problem)

    @api.get("/reports", dependencies=needs(*READERS))
    def reports_index() -> dict[str, list[str]]:
        return {"reports": list(REPORTS), "workforce": list(WORKFORCE_REPORTS),
                "exports": list(EXPORTS)}

    @api.get("/reports/{name}", dependencies=needs(*READERS), response_model=None)
    def report(name: str, period: str, entity: str | None = None, format: str = "json",
               months: int = 12, as_of: str = "close") -> Any:
        """A ledger report as JSON (tables, columns, rows, notes) or CSV (`format=csv`).
        `as_of=close` (default): a closed month as its close reported it; `as_of=now`: as
        known now. The workforce reports (utilization, forecast, bench) too: firm-wide (no
        entity), as known now."""
        workforce = name in WORKFORCE_REPORTS
        if name not in REPORTS and not workforce:
            raise HTTPException(404, f"no report {name!r}; reports: "
                                f"{', '.join((*REPORTS, *WORKFORCE_REPORTS))}")
        checked = _period(period)
        assert checked is not None
        if workforce and entity:
            raise HTTPException(422, f"{name} is firm-wide: it takes no entity")
        _entity(entity)
        if format not in ("json", "csv"):
            raise HTTPException(422, "format must be json or csv")
        if as_of not in AS_OF:
            raise HTTPException(422, f"as_of must be one of {', '.join(AS_OF)}")
        with system.engine.connect() as conn:
            made = workforce_report(conn, name, checked, max(1, min(months, 36)),
                                    system.ref) if workforce else report_options(system).build(
                conn, name, checked, entity=entity, months=max(1, min(months, 60)),
                as_of=as_of)
        if format == "csv":
            return Response(report_csv(made), media_type="text/csv")
        return made.as_dict()

    @api.get("/exports/{fmt}", dependencies=needs(*READERS), response_model=None)
    def export(fmt: str, period: str | None = None, entity: str | None = None,
               include_errors: bool = False) -> Any:
        """The stored books in a real ledger's format: Beancount (every entry), or for an ERP
        (netsuite-csv, qbo, xero) the customers, invoices and credit notes as the vendor's
        documents and the period summary of the rest, mapped by the firm's connector of that
        vendor (else Syncline's codes, said in `X-Export-Notes`). One file, or a ZIP of the
        NetSuite CSV imports. Records that could not be exported are counted in the
        `X-Export-Errors` header (`include_errors=true`: a JSON object with the files, the
        errors and the notes)."""
        if fmt not in EXPORTS:
            raise HTTPException(404, f"no export {fmt!r}; formats: {', '.join(EXPORTS)}")
        checked = _period(period, required=False)
        _entity(entity)
        try:
            with system.engine.connect() as conn:
                made = export_books(conn, fmt, period=checked, entity=entity, ref=system.ref,
                                    chart=system.charts, vendors=system.export_vendors,
                                    connectors_config=system.settings.connectors_config)
        except MappingInvalid as bad:
            raise HTTPException(422, "the mapping is not valid: " + "; ".join(bad.problems)
                                ) from None
        single = next(iter(made.content.values())) if len(made.content) == 1 else None
        if include_errors:
            return {"format": fmt, "files": made.content, "content": single,
                    "errors": [asdict(e) for e in made.errors], "notes": list(made.notes)}
        headers = {"X-Export-Errors": str(len(made.errors)),
                   "X-Export-Notes": " | ".join(made.notes)}
        if single is not None:
            return Response(single, media_type=EXPORT_MEDIA[fmt], headers=headers)
        return Response(archive(made.content), media_type="application/zip", headers={
            **headers, "Content-Disposition": f'attachment; filename="{fmt}.zip"'})

    @api.get("/contracts/{number}/statement", dependencies=needs(*READERS))
    def contract_statement_(number: str, period: str, as_of: str = "close") -> dict[str, Any]:
        """One contract's month from the books: billed (invoices and credits), revenue in the
        month and to date, contract asset and liability at the month end, cap write-offs and
        labor cost, each with its source items. Amounts are exact decimal strings."""
        checked = _period(period)
        assert checked is not None
        if as_of not in AS_OF:
            raise HTTPException(422, f"as_of must be one of {', '.join(AS_OF)}")
        try:
            with system.engine.connect() as conn:
                made = contract_statement(conn, number, checked, report_options(system),
                                          as_of=as_of)
        except UnknownContract:
            raise HTTPException(404, f"no contract {number!r}") from None
        return made.as_dict()

    @api.get("/periods", dependencies=needs(*READERS))
    def periods(entity: str | None = None, history: bool = False) -> list[dict[str, Any]]:
        """Months whose status was set (any other month is open), or their audited changes."""
        with system.engine.connect() as conn:
            if history:
                return period_history(conn, entity)
            return [v.as_dict() for v in list_periods(conn, entity)]

    @api.post("/periods/{entity}/{period}/{action}")
    def change(entity: str, period: str, action: str,
               principal: Annotated[Principal, Depends(Requires(FINANCE, CONTROLLER))],
               body: PeriodChange | None = None) -> dict[str, Any]:
        """Open, close, lock or reopen a month of a legal entity (audited): open and close
        need finance, lock and reopen need controller and a reason (403 otherwise)."""
        body = body or PeriodChange()
        if action not in {a.value for a in PeriodAction}:
            raise HTTPException(404, f"no action {action!r}: open, close, lock or reopen")
        _period(period)
        _entity(entity)
        try:
            with system.engine.begin() as conn:
                view = change_period(conn, entity, period, action, actor=principal.name,
                                     role=principal.roles, reason=body.reason,
                                     now=system.clock())
                if action == "close":  # what the month reports at its close, recorded with it
                    record_close(conn, period, report_options(system), entities=[entity],
                                 whole_firm=False, now=system.clock())
        except PeriodChangeRefused as refused:
            raise HTTPException(_STATUS.get(refused.problem, 422), str(refused)) from None
        return view.as_dict()

    return api
