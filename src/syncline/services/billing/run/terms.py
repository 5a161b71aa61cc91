"""The contracts of one legal entity with their billing terms: retainer fee (the contract's
retainer lines) and timing, drawdown hours and overage rate, not-to-exceed caps."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import billing_caps, contract_billing_terms
from syncline.adapters.db.tables import contract_lines, contracts, customers
from syncline.billing.amendments import cap_changes
from syncline.billing.caps import Cap, CapKind, CapScope
from syncline.billing.retainers import Timing
from syncline.domain.model import BillingType
from syncline.ledger.money import Money
from syncline.services.billing.amendments import load_amended

__all__ = ["Contract", "load_caps", "load_contracts"]


@dataclass(frozen=True)
class Contract:
    number: str
    customer_name: str
    entity_code: str
    currency: str
    billing_type: str
    tax_profile: str
    payment_terms_days: int
    service_line: str
    start: date
    end: date
    correlation_id: str | None
    retainer_fee: Decimal | None
    timing: Timing
    included_hours: Decimal | None
    overage_rate: Decimal | None
    caps: tuple[Cap, ...]

    @property
    def drawdown(self) -> bool:
        return self.included_hours is not None

    @property
    def complex(self) -> bool:
        """Needs the item-by-item engine (caps, drawdown) rather than set-based lines."""
        return bool(self.caps) or self.drawdown



def load_caps(conn: Connection, *, entity: str | None = None, contract: str | None = None
              ) -> dict[str, list[Cap]]:
    """The not-to-exceed caps per contract number, each with its limit changes from a date
    (``change_cap`` of ``contract.amended``)."""
    q = select(billing_caps).join(
        contracts, contracts.c.number == billing_caps.c.contract_number).order_by(
        billing_caps.c.contract_number, billing_caps.c.cap_id)
    if entity is not None:
        q = q.where(contracts.c.entity_code == entity)
    if contract is not None:
        q = q.where(billing_caps.c.contract_number == contract)
    rows = conn.execute(q).all()
    amended = load_amended(conn, {r.contract_number for r in rows}) if rows else {}
    caps: dict[str, list[Cap]] = defaultdict(list)
    for c in rows:
        found = amended.get(c.contract_number)
        changes = cap_changes(found.changes, c.currency).get(c.cap_id, ()) if found else ()
        caps[c.contract_number].append(Cap(
            c.cap_id, CapScope(c.scope), c.scope_key, Money(c.limit_amount, c.currency),
            CapKind(c.kind), c.tolerance, changes=changes))
    return caps


def load_contracts(conn: Connection, entity: str) -> dict[str, Contract]:
    retainer_fee: dict[str, Decimal] = defaultdict(Decimal)
    for r in conn.execute(
            select(contracts.c.number, contract_lines.c.amount)
            .join(contract_lines, contract_lines.c.contract_id == contracts.c.id)
            .where((contracts.c.entity_code == entity)
                   & (contract_lines.c.kind == BillingType.RETAINER.value))):
        retainer_fee[r.number] += r.amount or Decimal(0)
    terms = {r.contract_number: r for r in conn.execute(
        select(contract_billing_terms).join(
            contracts, contracts.c.number == contract_billing_terms.c.contract_number)
        .where(contracts.c.entity_code == entity))}
    caps = load_caps(conn, entity=entity)
    out: dict[str, Contract] = {}
    for r in conn.execute(
            select(contracts, customers.c.name.label("customer_name"))
            .join(customers, customers.c.id == contracts.c.customer_id)
            .where(contracts.c.entity_code == entity).order_by(contracts.c.number)):
        t = terms.get(r.number)
        out[r.number] = Contract(
            number=r.number, customer_name=r.customer_name, entity_code=r.entity_code,
            currency=r.currency, billing_type=r.billing_type, tax_profile=r.tax_profile,
            payment_terms_days=r.payment_terms_days, service_line=r.service_line,
            start=date.fromisoformat(r.start_date), end=date.fromisoformat(r.end_date),
            correlation_id=r.correlation_id, retainer_fee=retainer_fee.get(r.number),
            timing=Timing(t.retainer_timing) if t is not None else Timing.ARREARS,
            included_hours=t.included_hours if t is not None else None,
            overage_rate=t.overage_rate if t is not None else None,
            caps=tuple(caps.get(r.number, ())))
    return out
