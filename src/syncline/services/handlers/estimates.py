"""The revenue side of a contract's lines: how each is recognised, and its estimate at
completion over time.

- ``deal.closed_won``: the deal is opened as before (`deals`); each line that states a
  ``recognition`` method is recorded in ``line_recognition`` (the billing kind stays what it
  is: a fixed fee billed by milestones may be recognised by hours or cost to cost). The
  contract is announced as ``contract:<number>`` for messages waiting on it.
- ``estimate.revised``: a revised estimate at completion of a line, effective from a date,
  kept with every earlier one (``revenue_estimates``); hours for a line recognised by hours,
  cost for one recognised by cost to cost. The engine measures each period with the estimate
  in force at its end, and labels the change's effect on the work already done as an
  estimate catch-up. Idempotent on ``revision_id``; a revision before its contract waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select

from syncline.adapters.db.revenue_tables import line_recognition, revenue_estimates
from syncline.adapters.db.tables import contract_lines, contracts, milestones
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.domain.model import stated_recognition
from syncline.services.clock import iso
from syncline.services.handlers.deals import opened_with_terms, owns
from syncline.services.messaging.bulk import insert_rows
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch
from syncline.services.revenue.facts import default_method

_STATED = select(line_recognition.c.line_id).where(
    line_recognition.c.contract_number == bindparam("n"))  # built once


def record_recognition(b: Batch, number: str, lines: Any, *, fresh: bool = False) -> None:
    """``line_recognition`` rows for the lines that state a method (idempotent; ``fresh``:
    the contract was opened just now, so none is recorded yet)."""
    known = set() if fresh else set(b.conn.execute(_STATED, {"n": number}).scalars())
    rows = [{"contract_number": number, "line_id": str(ln["line_id"]), "method": method,
             "inbox_id": b.inbox_id or ""}
            for ln in lines if (method := stated_recognition(ln)) is not None
            and str(ln["line_id"]) not in known]
    if rows:
        insert_rows(b.conn, line_recognition, rows)


def open_contract_recognized(b: Batch, data: Mapping[str, Any]) -> Outcome:
    outcome, fresh = opened_with_terms(b, data)
    if not isinstance(outcome, Applied):
        return outcome
    number = str(data["contract"]["number"])
    if not fresh and not owns(b, number, data):
        return outcome
    record_recognition(b, number, data["lines"], fresh=fresh)
    return Applied(provides=(*outcome.provides, f"contract:{number}"), note=outcome.note)


def _refused(code: str, message: str, field: str, number: str, revision: str) -> Failed:
    return Failed((Problem(
        code, BusinessDomain.FINANCE, message,
        "Correct the revision in the PSA (the line, and hours or cost as the line is "
        "recognised) and re-send it, or edit and replay this message.", field,
        objects=(("contract", number), ("estimate", revision))),))


def revise_estimate(b: Batch, data: Mapping[str, Any]) -> Outcome:
    revision, number = str(data["revision_id"]), str(data["contract_number"])
    line_id = str(data["line_id"])
    if b.conn.execute(select(revenue_estimates.c.estimate_id).where(
            revenue_estimates.c.estimate_id == revision)).first():
        return Applied(note="estimate revision already recorded (idempotent)")
    head = b.conn.execute(select(contracts.c.id, contracts.c.start_date).where(
        contracts.c.number == number)).first()
    if head is None:
        return Parked(Missing(f"contract:{number}", f"contract {number} is not known yet"))
    line = b.conn.execute(select(contract_lines).where(
        (contract_lines.c.contract_id == head.id) & (contract_lines.c.line_id == line_id))
    ).first()
    if line is None:
        return _refused("estimate.unknown_line", f"line {line_id} is not on contract {number}",
                        "data.line_id", number, revision)
    effective = date.fromisoformat(data["effective_date"])
    if effective < date.fromisoformat(head.start_date):
        return _refused("estimate.before_start", f"estimate {revision} is effective "
                        f"{effective}, before contract {number} starts",
                        "data.effective_date", number, revision)
    method = b.conn.execute(select(line_recognition.c.method).where(
        (line_recognition.c.contract_number == number)
        & (line_recognition.c.line_id == line_id))).scalar()
    if method is None:
        has_milestones = line.kind == "fixed_fee" and b.conn.execute(
            select(milestones.c.id).where(milestones.c.contract_id == head.id)).first()
        method = default_method(line.kind, bool(has_milestones), line.estimated_hours,
                                line.estimated_cost)
    basis = "hours" if data.get("estimated_hours") is not None else "cost"
    wanted = {"hours": "hours", "cost_to_cost": "cost"}.get(method)
    if basis != wanted:
        return _refused("estimate.basis_mismatch", f"line {line_id} of contract {number} is "
                        f"recognised by {method}: a {basis} estimate does not measure it",
                        f"data.estimated_{basis}", number, revision)
    total = Decimal(data["estimated_hours" if basis == "hours" else "estimated_cost"])
    materials = data.get("uninstalled_materials")
    insert_rows(b.conn, revenue_estimates, [dict(
        estimate_id=revision, contract_number=number, line_id=line_id, basis=basis,
        effective_date=effective.isoformat(), total=total,
        uninstalled_materials=Decimal(materials) if materials is not None else None,
        reason=str(data.get("reason", "")), inbox_id=b.inbox_id or "",
        recorded_at=iso(b.now))])
    return Applied(provides=(f"estimate:{revision}",))
