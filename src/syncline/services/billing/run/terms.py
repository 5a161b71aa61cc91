"""The contracts of one legal entity with their billing terms: retainer fee (the contract's
retainer lines, as amendments change them from their dates) and timing, convention, kind
(monthly or prepaid block), drawdown hours and overage rate, not-to-exceed caps (with their
limits from a date); the contract's end as amended."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import billing_caps, contract_billing_terms
from syncline.adapters.db.tables import contracts, customers
from syncline.billing.amendments import (
    AmendmentChange,
    block_top_ups,
    cap_changes,
    contract_end,
    fixed_fee_changes,
    retainer_fees_in_force,
)
from syncline.billing.caps import Cap, CapKind, CapScope
from syncline.billing.retainers import (
    AdvanceConvention,
    FeeChange,
    RetainerKind,
    RetainerTerms,
    Timing,
    invoice_date,
)
from syncline.domain.model import BillingType
from syncline.ledger.money import Money
from syncline.services.billing.amendments import Amended, load_amended

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
    end: date  # as amended
    correlation_id: str | None
    retainer_fee: Decimal | None  # monthly fee at the start; None: no retainer line at all
    timing: Timing
    included_hours: Decimal | None  # monthly allowance, or the prepaid block's hours
    overage_rate: Decimal | None
    caps: tuple[Cap, ...]
    fee_changes: tuple[FeeChange, ...] = ()  # the monthly fee from a date (amendments)
    convention: AdvanceConvention = AdvanceConvention.NEXT_MONTH
    kind: RetainerKind = RetainerKind.MONTHLY
    top_ups: tuple[AmendmentChange, ...] = ()  # prepaid block top-ups
    price_changes: tuple[tuple[AmendmentChange, Decimal], ...] = ()  # fixed-fee differences

    @property
    def drawdown(self) -> bool:
        return self.included_hours is not None

    @property
    def block(self) -> bool:
        return self.kind is RetainerKind.PREPAID_BLOCK

    @property
    def retainer(self) -> RetainerTerms:
        return RetainerTerms(
            self.number, Money(self.retainer_fee or 0, self.currency), self.start, self.end,
            self.timing, self.included_hours,
            Money(self.overage_rate, self.currency) if self.overage_rate else None,
            fee_changes=self.fee_changes, convention=self.convention)

    def invoice_date(self, cycle_end: date) -> date:
        """The first of the month for a retainer billed in advance for the month itself,
        else the cycle's end."""
        return invoice_date(self.retainer, cycle_end) if self.current_month else cycle_end

    @property
    def complex(self) -> bool:
        """Needs the item-by-item engine (caps, drawdown, an invoice dated the 1st) rather
        than set-based lines."""
        return bool(self.caps) or self.drawdown or self.current_month

    @property
    def current_month(self) -> bool:
        """A monthly retainer billed in advance on the 1st for the month itself."""
        return (self.retainer_fee is not None and not self.block
                and self.retainer.bills_current_month)


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
    terms = {r.contract_number: r for r in conn.execute(
        select(contract_billing_terms).join(
            contracts, contracts.c.number == contract_billing_terms.c.contract_number)
        .where(contracts.c.entity_code == entity))}
    caps = load_caps(conn, entity=entity)
    heads = conn.execute(
        select(contracts, customers.c.name.label("customer_name"))
        .join(customers, customers.c.id == contracts.c.customer_id)
        .where(contracts.c.entity_code == entity).order_by(contracts.c.number)).all()
    amended = load_amended(conn, [r.number for r in heads]) if heads else {}
    out: dict[str, Contract] = {}
    for r in heads:
        t = terms.get(r.number)
        found = amended.get(r.number, Amended())
        retainer = any(ln.kind == BillingType.RETAINER.value for ln in found.lines) or any(
            c.action == "add_line" and c.kind == BillingType.RETAINER.value
            for c in found.changes)
        fees = retainer_fees_in_force(found.lines, found.changes, r.currency)
        out[r.number] = Contract(
            number=r.number, customer_name=r.customer_name, entity_code=r.entity_code,
            currency=r.currency, billing_type=r.billing_type, tax_profile=r.tax_profile,
            payment_terms_days=r.payment_terms_days, service_line=r.service_line,
            start=date.fromisoformat(r.start_date),
            end=contract_end(date.fromisoformat(r.end_date), found.ends),
            correlation_id=r.correlation_id,
            retainer_fee=fees[0].monthly_fee.amount if retainer else None,
            timing=Timing(t.retainer_timing) if t is not None else Timing.ARREARS,
            included_hours=t.included_hours if t is not None else None,
            overage_rate=t.overage_rate if t is not None else None,
            caps=tuple(caps.get(r.number, ())), fee_changes=fees[1:],
            convention=AdvanceConvention(t.advance_convention) if t is not None
            and t.advance_convention else AdvanceConvention.NEXT_MONTH,
            kind=RetainerKind(t.retainer_kind) if t is not None and t.retainer_kind
            else RetainerKind.MONTHLY,
            top_ups=block_top_ups(found.changes),
            price_changes=fixed_fee_changes(found.lines, found.changes))
    return out
