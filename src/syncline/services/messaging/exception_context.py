"""The business context of exceptions, as a person in finance or the PMO reads a queue row:
customer, contract, project, amount and the source record (vendor and its record id).

Derived on demand from what the exception points at, nothing stored: the inbox message it
came with (its envelope's ``source`` and ``subject``, its ``data``), else its outbox row
(a delivery's document), then what Syncline holds for the ids found (a project's contract
and customer, a milestone's amount, a contract's rate for a time entry's role, an invoice's
total). What cannot be known is None (an exception about a project nobody provisioned has
no customer yet). The amount is money when the record carries or implies it (an expense,
a milestone, an invoice, approved hours at the contract's rate for the role: hours × rate,
rounded to the cent half up) and hours otherwise (``"7 h"``, or the hours as sent when they
are not a number).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import (
    contract_rates,
    contracts,
    customers,
    inbox,
    invoices,
    milestones,
    outbox,
    projects,
)
from syncline.services.messaging.exceptions import ExceptionView

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class BusinessContext:
    customer: str | None = None
    contract: str | None = None
    project: str | None = None
    amount: str | None = None  # "1200.00 USD" or "6 h"
    vendor: str | None = None  # the source system (the envelope's source: "psa/kantata")
    record: str | None = None  # the vendor's record id (the subject's id: "T-2")

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def _money(value: Any, currency: Any = None) -> str | None:
    """'12.50 USD' from a money object {amount, currency} or an amount and its currency."""
    if isinstance(value, Mapping):
        value, currency = value.get("amount"), value.get("currency", currency)
    if value is None:
        return None
    return f"{value} {currency}".strip() if currency else str(value)


def _data(raw: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(envelope, data) of a stored message; empty when it is not JSON."""
    try:
        envelope = json.loads(raw or "")
    except ValueError:
        return {}, {}
    if not isinstance(envelope, dict):
        return {}, {}
    data = envelope.get("data")
    return envelope, data if isinstance(data, dict) else {}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class _Lookup:
    """Syncline's records by id, read once per listing."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        q = (select(projects.c.code, contracts.c.id, contracts.c.number, customers.c.name)
             .join(contracts, contracts.c.id == projects.c.contract_id)
             .join(customers, customers.c.id == contracts.c.customer_id))
        self.project = {r.code: (r.id, r.number, r.name) for r in conn.execute(q)}
        q2 = (select(contracts.c.id, contracts.c.number, contracts.c.deal_id, customers.c.name)
              .join(customers, customers.c.id == contracts.c.customer_id))
        self.contract = {r.number: (r.id, r.name) for r in conn.execute(q2)}
        self.deal = {r.deal_id: r.number for r in conn.execute(q2)}

    def rate(self, contract_id: str, role: str) -> tuple[Decimal, str] | None:
        row = self.conn.execute(select(contract_rates.c.rate, contract_rates.c.currency).where(
            (contract_rates.c.contract_id == contract_id)
            & (contract_rates.c.role == role))).first()
        return (Decimal(row.rate), str(row.currency)) if row else None

    def milestone(self, milestone_id: str) -> str | None:
        row = self.conn.execute(select(milestones.c.amount, contracts.c.currency).join(
            contracts, contracts.c.id == milestones.c.contract_id).where(
            milestones.c.milestone_id == milestone_id)).first()
        return f"{row.amount} {row.currency}" if row else None

    def invoice(self, number: str) -> Any:
        return self.conn.execute(select(invoices.c.contract_number, invoices.c.customer_name,
                                        invoices.c.total, invoices.c.currency).where(
            invoices.c.number == number)).first()


def _from_message(look: _Lookup, envelope: dict[str, Any], data: dict[str, Any],
                  ) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    subject = str(envelope.get("subject") or "")
    out["vendor"] = str(envelope["source"]) if envelope.get("source") else None
    out["record"] = subject.partition("/")[2] or subject or envelope.get("id")
    kind = envelope.get("type")
    contract_id = None
    if kind == "deal.closed_won":
        deal = data.get("contract") if isinstance(data.get("contract"), dict) else {}
        customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
        project = data.get("project") if isinstance(data.get("project"), dict) else {}
        out["customer"] = customer.get("name")
        out["contract"] = deal.get("number") or look.deal.get(str(data.get("deal_id")))
        out["project"] = project.get("code")
        lines = [ln for ln in data.get("lines") or [] if isinstance(ln, dict)]
        total = _sum(ln.get("amount") for ln in lines)
        if total is not None:
            out["amount"] = f"{total} {data.get('currency') or ''}".strip()
        return out
    code = data.get("project_code")
    if isinstance(code, str) and code in look.project:
        contract_id, out["contract"], out["customer"] = look.project[code]
    out["project"] = code if isinstance(code, str) else None
    number = data.get("contract_number")
    if isinstance(number, str) and number in look.contract:
        out["contract"] = number
        contract_id, out["customer"] = look.contract[number]
    if kind and str(kind).startswith("time.") and "hours" in data:
        out["amount"] = _hours_amount(look, contract_id, data)
    elif kind == "milestone.completed" and data.get("milestone_id"):
        out["amount"] = look.milestone(str(data["milestone_id"]))
    elif "amount" in data:
        out["amount"] = _money(data["amount"], data.get("currency"))
    return out


def _sum(values: Iterable[Any]) -> Decimal | None:
    total, seen = Decimal(0), False
    for v in values:
        try:
            total += Decimal(str(v))
            seen = True
        except (InvalidOperation, ValueError):
            continue
    return total if seen else None


def _hours_amount(look: _Lookup, contract_id: str | None, data: dict[str, Any]) -> str:
    """Hours × the contract's rate for the role (to the cent, half up), else the hours."""
    try:
        hours = Decimal(str(data["hours"]))
    except (InvalidOperation, ValueError):
        return f"{data['hours']} h"
    rate = look.rate(contract_id, str(data.get("role"))) if contract_id else None
    if rate is None:
        return f"{hours} h"
    amount = (hours * rate[0]).quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{amount} {rate[1]} ({hours} h)"


def _from_objects(look: _Lookup, objects: Iterable[list[str]]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for kind, key in (tuple(o[:2]) for o in objects if len(o) >= 2):
        if kind == "project" and key in look.project:
            _, out["contract"], out["customer"] = look.project[key]
            out["project"] = key
        elif kind == "contract" and key in look.contract:
            out["contract"], out["customer"] = key, look.contract[key][1]
        elif kind in ("invoice", "credit_note"):
            found = look.invoice(key)
            if found is not None:
                out["contract"], out["customer"] = found.contract_number, found.customer_name
                out["amount"] = f"{found.total} {found.currency}"
        elif kind == "milestone":
            out["amount"] = look.milestone(key) or out.get("amount")
    return out


def business_context(conn: Connection, views: Iterable[ExceptionView]
                     ) -> dict[str, BusinessContext]:
    """The business context of each exception, by its id (see the module's docstring)."""
    chosen = list(views)
    if not chosen:
        return {}
    look = _Lookup(conn)
    ids = [v.inbox_id for v in chosen if v.inbox_id]
    raws = {r.id: r for r in conn.execute(select(
        inbox.c.id, inbox.c.raw, inbox.c.source, inbox.c.subject, inbox.c.event_id).where(
        inbox.c.id.in_(ids)))} if ids else {}
    outs = [v.outbox_id for v in chosen if v.outbox_id]
    sent = {r.id: r for r in conn.execute(select(outbox.c.id, outbox.c.target, outbox.c.kind,
                                                 outbox.c.payload).where(
        outbox.c.id.in_(outs)))} if outs else {}
    found: dict[str, BusinessContext] = {}
    for v in chosen:
        fields: dict[str, str | None] = _from_objects(look, v.objects)
        if v.inbox_id in raws:
            msg = raws[v.inbox_id]
            envelope, data = _data(msg.raw)
            # what the inbox read off an unreadable message (not JSON, cut short); its
            # event id is then a hash of the bytes, no vendor's record id
            envelope = envelope or {"source": msg.source if msg.source != "unknown" else None,
                                    "subject": msg.subject}
            fields.update({k: x for k, x in _from_message(look, envelope, data).items()
                           if x is not None})
        elif v.outbox_id in sent:
            row = sent[v.outbox_id]
            _, payload = _data(json.dumps({"data": _json(row.payload)}))
            fields.setdefault("vendor", f"{row.target} ({row.kind})")
            fields.setdefault("record", v.outbox_id)
            if payload.get("contract_number") and not fields.get("contract"):
                fields.update({k: x for k, x in _from_objects(
                    look, [["contract", str(payload["contract_number"])]]).items() if x})
        found[v.id] = BusinessContext(**{k: (str(x) if x is not None else None)
                                         for k, x in fields.items()})
    return found
