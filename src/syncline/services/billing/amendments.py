"""Amendments as billing reads them: the stored ``contract.amended`` payloads
(``contract_amendments``) turned into effective-dated changes (``billing.amendments``), the
baseline lines they apply to, and the check of the billing-only change actions
(``change_cap``, ``top_up_block``, ``change_rate``) when an amendment is applied."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import billing_caps, contract_billing_terms
from syncline.adapters.db.revenue_tables import contract_amendments
from syncline.adapters.db.tables import contract_lines, contracts
from syncline.billing.amendments import AmendmentChange, ContractLine, amendment_changes

__all__ = ["BILLING_ACTIONS", "Amended", "billing_change_problem", "load_amended"]

BILLING_ACTIONS = frozenset({"change_cap", "top_up_block", "change_rate"})
"""Change actions that only billing reads (no contract line): checked here."""


@dataclass(frozen=True)
class Amended:
    """A contract's baseline lines and every change its amendments make, in effect order."""

    lines: tuple[ContractLine, ...] = ()
    changes: tuple[AmendmentChange, ...] = ()
    ends: tuple[tuple[date, str, date | None], ...] = ()  # (effective, amendment, end date)
    added: frozenset[str] = field(default_factory=frozenset)


def load_amended(conn: Connection, numbers: Collection[str] | None = None
                 ) -> dict[str, Amended]:
    """Per contract number (all, or ``numbers``), its baseline lines and amendment changes.
    A line added by an amendment is not baseline (it starts on the amendment's date)."""
    q = select(contract_amendments).order_by(contract_amendments.c.effective_date,
                                             contract_amendments.c.amendment_id)
    lq = select(contracts.c.number, contract_lines).join(
        contracts, contracts.c.id == contract_lines.c.contract_id).order_by(
        contracts.c.number, contract_lines.c.line_id)
    if numbers is not None:
        q = q.where(contract_amendments.c.contract_number.in_(sorted(numbers)))
        lq = lq.where(contracts.c.number.in_(sorted(numbers)))
    changes: dict[str, list[AmendmentChange]] = defaultdict(list)
    ends: dict[str, list[tuple[date, str, date | None]]] = defaultdict(list)
    for r in conn.execute(q):
        data = json.loads(r.payload)
        effective = date.fromisoformat(r.effective_date)
        changes[r.contract_number].extend(
            amendment_changes(r.amendment_id, effective, data.get("changes") or ()))
        end = data.get("end_date")
        ends[r.contract_number].append((effective, r.amendment_id,
                                        date.fromisoformat(end) if end else None))
    lines: dict[str, list[ContractLine]] = defaultdict(list)
    for r in conn.execute(lq):
        lines[r.number].append(ContractLine(r.line_id, r.kind, r.amount, r.description))
    out: dict[str, Amended] = {}
    for number in set(lines) | set(changes):
        added = frozenset(c.line_id for c in changes[number] if c.action == "add_line")
        out[number] = Amended(
            tuple(ln for ln in lines[number] if ln.line_id not in added),
            tuple(changes[number]), tuple(ends[number]), added)
    return out


def _positive(value: Any) -> bool:
    try:
        return value is not None and Decimal(str(value)) > 0
    except InvalidOperation:
        return False


def billing_change_problem(conn: Connection, contract_number: str,
                           change: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(code, message, field) when a billing-only change cannot apply to the contract, else
    None: a ``change_cap`` names a cap of the contract and a positive limit; a
    ``top_up_block`` needs a prepaid block and positive hours; a ``change_rate`` a role and a
    positive rate."""
    action = str(change["action"])
    if action == "change_cap":
        cap_id = str(change.get("cap_id") or "")
        if conn.execute(select(billing_caps.c.cap_id).where(
                (billing_caps.c.cap_id == cap_id)
                & (billing_caps.c.contract_number == contract_number))).first() is None:
            return ("amendment.unknown_cap", f"cap {cap_id!r} is not on contract "
                    f"{contract_number}", "cap_id")
        if not _positive(change.get("limit")):
            return ("amendment.cap_limit_invalid", f"the new limit of cap {cap_id} must be a "
                    "positive amount", "limit")
        if change.get("tolerance") is not None and Decimal(str(change["tolerance"])) < 0:
            return ("amendment.cap_limit_invalid", f"the tolerance of cap {cap_id} cannot be "
                    "negative", "tolerance")
    elif action == "top_up_block":
        terms = conn.execute(select(contract_billing_terms).where(
            contract_billing_terms.c.contract_number == contract_number)).first()
        if terms is None or terms.retainer_kind != "prepaid_block":
            return ("amendment.no_prepaid_block", f"contract {contract_number} has no prepaid "
                    "block of hours to top up", "action")
        if not _positive(change.get("hours")):
            return ("amendment.top_up_invalid", "a top-up needs a positive number of hours",
                    "hours")
    elif action == "change_rate" and (not change.get("role")
                                       or not _positive(change.get("rate"))):
        return ("amendment.rate_invalid", "a rate change needs a role and a positive rate",
                "rate")
    return None
