"""Intercompany charges: a worker of entity B on a project of entity A.

The charge is ``hours × transfer-pricing rate`` (rounded to the rate currency's minor unit).
It makes two entries, each balanced in its own entity:

- provider B: debit ``intercompany_receivable`` / credit ``intercompany_revenue``;
- recipient A: debit ``intercompany_cost`` / credit ``intercompany_payable``.

Both carry the counterparty as the dimension ``counterparty`` (plus project and worker), so
the receivable B holds against A always equals the payable A holds against B
(``intercompany_mismatches`` lists any difference, for close-time reconciliation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from syncline.ledger.accounts import ChartOfAccounts, UnknownAccountRole
from syncline.ledger.fx import FxError, FxRate, with_functional
from syncline.ledger.journal import JournalEntry, JournalLine, Side
from syncline.ledger.money import Money

COUNTERPARTY = "counterparty"


@dataclass(frozen=True, slots=True)
class IntercompanyCharge:
    charge_id: str
    provider_entity: str  # B: employs the worker
    recipient_entity: str  # A: owns the project
    project_id: str
    worker_id: str
    hours: Decimal
    transfer_rate: Money  # per hour
    posting_date: date


@dataclass(frozen=True, slots=True)
class IntercompanyError:
    charge_id: str
    problem: str
    message: str


def charge_amount(charge: IntercompanyCharge) -> Money:
    return (charge.transfer_rate * charge.hours).rounded()


def intercompany_entries(
    charge: IntercompanyCharge,
    charts: Mapping[str, ChartOfAccounts],
    *,
    functional_currencies: Mapping[str, str] | None = None,
    rates: Mapping[str, Mapping[str, FxRate]] | None = None,
) -> tuple[JournalEntry, JournalEntry] | IntercompanyError:
    """(provider entry, recipient entry) for ``charge``.

    ``functional_currencies`` (entity → currency) and ``rates`` (entity → currency → rate)
    add functional amounts for entities whose functional currency differs from the charge's.
    """
    if charge.provider_entity == charge.recipient_entity:
        return IntercompanyError(charge.charge_id, "same_entity",
                                 "provider and recipient are the same legal entity")
    if charge.hours <= 0:
        return IntercompanyError(charge.charge_id, "bad_hours", "hours must be positive")
    amount = charge_amount(charge)
    if amount.is_zero:
        return IntercompanyError(charge.charge_id, "zero_amount", "the charge rounds to zero")
    plan = (
        (charge.provider_entity, charge.recipient_entity,
         "intercompany_receivable", "intercompany_revenue", "charge to"),
        (charge.recipient_entity, charge.provider_entity,
         "intercompany_cost", "intercompany_payable", "charge from"),
    )
    made: list[JournalEntry] = []
    for entity, other, debit_role, credit_role, verb in plan:
        chart = charts.get(entity)
        if chart is None:
            return IntercompanyError(charge.charge_id, "no_chart",
                                     f"no chart of accounts for entity {entity!r}")
        try:
            debit, credit = chart.code(debit_role), chart.code(credit_role)
        except UnknownAccountRole as exc:
            return IntercompanyError(charge.charge_id, "unmapped_role",
                                     f"chart of {entity} maps no role {exc.args[0]!r}")
        dims = ((COUNTERPARTY, other), ("project", charge.project_id),
                ("worker", charge.worker_id))
        memo = (f"intercompany {verb} {other}: {charge.hours} h x "
                f"{charge.transfer_rate.canonical()}")
        entry = JournalEntry(
            entity_id=entity,
            posting_date=charge.posting_date,
            description=f"Intercompany {verb} {other} for {charge.project_id}",
            lines=(JournalLine(debit, Side.DEBIT, amount, memo=memo, dimensions=dims),
                   JournalLine(credit, Side.CREDIT, amount, memo=memo, dimensions=dims)),
            source_type="intercompany_charge",
            source_id=charge.charge_id,
        )
        functional = (functional_currencies or {}).get(entity)
        if functional is not None:
            converted = with_functional(entry, functional, (rates or {}).get(entity, {}))
            if isinstance(converted, FxError):
                return IntercompanyError(charge.charge_id, converted.problem,
                                         f"{entity}: {converted.message}")
            entry = converted
        made.append(entry)
    return made[0], made[1]


@dataclass(frozen=True, slots=True)
class IntercompanyMismatch:
    creditor: str  # entity holding the receivable
    debtor: str  # entity holding the payable
    currency: str
    receivable: Decimal
    payable: Decimal


def intercompany_mismatches(
    entries: Iterable[JournalEntry], charts: Mapping[str, ChartOfAccounts]
) -> tuple[IntercompanyMismatch, ...]:
    """Pairs of entities whose intercompany receivable and payable balances differ."""
    receivable: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    payable: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        chart = charts.get(entry.entity_id)
        if chart is None:
            continue
        ar = _code_or_none(chart, "intercompany_receivable")
        ap = _code_or_none(chart, "intercompany_payable")
        for ln in entry.lines:
            other = dict(ln.dimensions).get(COUNTERPARTY)
            if other is None:
                continue
            if ln.account == ar:
                receivable[(entry.entity_id, other, ln.amount.currency)] += ln.signed
            elif ln.account == ap:
                payable[(other, entry.entity_id, ln.amount.currency)] -= ln.signed
    out = []
    for key in sorted(set(receivable) | set(payable)):
        r, p = receivable.get(key, Decimal(0)), payable.get(key, Decimal(0))
        if r != p:
            out.append(IntercompanyMismatch(key[0], key[1], key[2], r, p))
    return tuple(out)


def _code_or_none(chart: ChartOfAccounts, role: str) -> str | None:
    try:
        return chart.code(role)
    except UnknownAccountRole:
        return None
