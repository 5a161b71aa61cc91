"""Intercompany charges: a worker of entity B on a project of entity A.

The charge is ``hours × transfer-pricing rate`` (rounded to the rate currency's minor unit).
It makes two entries, each balanced in its own entity:

- provider B: debit ``intercompany_receivable`` / credit ``intercompany_revenue``;
- recipient A: debit ``intercompany_cost`` / credit ``intercompany_payable``.

Both carry the counterparty as the dimension ``counterparty`` (plus project and worker), so
the receivable B holds against A always equals the payable A holds against B
(``intercompany_mismatches`` lists any difference, for close-time reconciliation). Each
entry's source id is ``<charge id>:<entity>`` and both carry the charge id as metadata
``intercompany_charge``. ``combined_entries`` makes one pair for several charges (a month's
charges on one project: a line pair per worker and rate); ``TransferPricing`` is the
transfer-pricing policy (cost plus a markup, or a rate card per role).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from syncline.ledger.accounts import ChartOfAccounts, UnknownAccountRole
from syncline.ledger.carried import Carried
from syncline.ledger.dimensions import CHARGE as CHARGE  # named here before
from syncline.ledger.dimensions import COUNTERPARTY as COUNTERPARTY
from syncline.ledger.fx import FxError, FxRate, with_functional
from syncline.ledger.journal import JournalEntry, JournalLine, Side
from syncline.ledger.money import Money


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


def entry_source_id(charge_id: str, entity: str) -> str:
    """Each entity's entry of a charge has its own source id (``<charge>:<entity>``): journal
    sources are unique across the books; the metadata ``intercompany_charge`` pairs them."""
    return f"{charge_id}:{entity}"


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
    return combined_entries((charge,), charts, source_id=charge.charge_id,
                            functional_currencies=functional_currencies, rates=rates)


def combined_entries(
    charges: Sequence[IntercompanyCharge],
    charts: Mapping[str, ChartOfAccounts],
    *,
    source_id: str,
    functional_currencies: Mapping[str, str] | None = None,
    rates: Mapping[str, Mapping[str, FxRate]] | None = None,
    metadata: tuple[tuple[str, str], ...] = (),
) -> tuple[JournalEntry, JournalEntry] | IntercompanyError:
    """One (provider entry, recipient entry) pair for several charges between the same two
    entities on the same date (a month's charges for one project): a debit and a credit line
    per charge, each naming its worker, so the entries read like the timesheets behind them.
    """
    if not charges:
        return IntercompanyError(source_id, "no_charges", "nothing to charge")
    first = charges[0]
    provider, recipient = first.provider_entity, first.recipient_entity
    for charge in charges:
        if (charge.provider_entity, charge.recipient_entity, charge.posting_date) != (
                provider, recipient, first.posting_date):
            return IntercompanyError(charge.charge_id, "mixed_charges",
                                     "charges of one entry share provider, recipient and date")
        if charge.provider_entity == charge.recipient_entity:
            return IntercompanyError(charge.charge_id, "same_entity",
                                     "provider and recipient are the same legal entity")
        if charge.hours <= 0:
            return IntercompanyError(charge.charge_id, "bad_hours", "hours must be positive")
        if charge_amount(charge).is_zero:
            return IntercompanyError(charge.charge_id, "zero_amount",
                                     "the charge rounds to zero")
    projects = sorted({c.project_id for c in charges})
    what = projects[0] if len(projects) == 1 else f"{len(projects)} projects"
    plan = (
        (provider, recipient, "intercompany_receivable", "intercompany_revenue", "charge to"),
        (recipient, provider, "intercompany_cost", "intercompany_payable", "charge from"),
    )
    made: list[JournalEntry] = []
    for entity, other, debit_role, credit_role, verb in plan:
        chart = charts.get(entity)
        if chart is None:
            return IntercompanyError(source_id, "no_chart",
                                     f"no chart of accounts for entity {entity!r}")
        try:
            debit, credit = chart.code(debit_role), chart.code(credit_role)
        except UnknownAccountRole as exc:
            return IntercompanyError(source_id, "unmapped_role",
                                     f"chart of {entity} maps no role {exc.args[0]!r}")
        lines: list[JournalLine] = []
        for charge in charges:
            amount = charge_amount(charge)
            dims = ((COUNTERPARTY, other), ("project", charge.project_id),
                    ("worker", charge.worker_id))
            memo = (f"intercompany {verb} {other}: {charge.hours} h x "
                    f"{charge.transfer_rate.canonical()}")
            lines.append(JournalLine(debit, Side.DEBIT, amount, memo=memo, dimensions=dims))
            lines.append(JournalLine(credit, Side.CREDIT, amount, memo=memo, dimensions=dims))
        entry = JournalEntry(
            entity_id=entity,
            posting_date=first.posting_date,
            description=f"Intercompany {verb} {other} for {what}",
            lines=tuple(lines),
            source_type="intercompany_charge",
            source_id=entry_source_id(source_id, entity),
            metadata=((CHARGE, source_id), *metadata),
        )
        functional = (functional_currencies or {}).get(entity)
        if functional is not None:
            converted = with_functional(entry, functional, (rates or {}).get(entity, {}))
            if isinstance(converted, FxError):
                return IntercompanyError(source_id, converted.problem,
                                         f"{entity}: {converted.message}")
            entry = converted
        made.append(entry)
    return made[0], made[1]


# --- transfer pricing ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferPricing:
    """How an hour of a provider entity's worker is priced to the recipient entity.

    ``cost_plus`` (the default): the worker's HR cost rate effective on the work date ×
    (1 + markup), in the cost currency — the markup of the (provider, recipient) pair when
    listed in ``pair_markups``, else ``markup`` (10 %). ``rate_card``: a fixed hourly rate
    per role (``role_rates``: provider entity or ``"*"``, role, rate), in the rate's
    currency; a role without a rate cannot be charged. The hourly transfer rate is rounded
    half-up to the currency's minor unit (a stated rate), then the charge is hours × rate.
    """

    method: str = "cost_plus"
    markup: Decimal = Decimal("0.10")
    pair_markups: tuple[tuple[str, str, Decimal], ...] = ()
    role_rates: tuple[tuple[str, str, Money], ...] = ()

    def markup_for(self, provider: str, recipient: str) -> Decimal:
        return next((m for p, r, m in self.pair_markups if (p, r) == (provider, recipient)),
                    self.markup)

    def rate_for(self, *, provider: str, recipient: str, role: str,
                 cost_rate: Money) -> Money | IntercompanyError:
        """The hourly transfer rate, or an error value naming what is missing."""
        if self.method == "rate_card":
            found = (next((m for p, r, m in self.role_rates if p == provider and r == role),
                          None)
                     or next((m for p, r, m in self.role_rates if p == "*" and r == role),
                             None))
            if found is None:
                return IntercompanyError("", "no_transfer_rate",
                                         f"no transfer rate for role {role!r} of {provider}")
            return found.rounded()
        return (cost_rate * (1 + self.markup_for(provider, recipient))).rounded()

    def describe(self) -> str:
        if self.method == "rate_card":
            return "rate card per role"
        pairs = ", ".join(f"{p}->{r} {m}" for p, r, m in self.pair_markups)
        return f"cost plus {self.markup}" + (f" ({pairs})" if pairs else "")


@dataclass(frozen=True, slots=True)
class IntercompanyMismatch:
    creditor: str  # entity holding the receivable
    debtor: str  # entity holding the payable
    currency: str
    receivable: Decimal
    payable: Decimal


def intercompany_mismatches(
    entries: Iterable[JournalEntry], charts: Mapping[str, ChartOfAccounts],
    carried: Iterable[Carried] = (),
) -> tuple[IntercompanyMismatch, ...]:
    """Pairs of entities whose intercompany receivable and payable balances differ.
    ``carried``: balances carried through a month before ``entries`` (``ledger.carried``)."""
    receivable: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    payable: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for c in carried:
        chart = charts.get(c.key.entity)
        if chart is None or not c.key.counterparty:
            continue
        if c.key.account == _code_or_none(chart, "intercompany_receivable"):
            receivable[(c.key.entity, c.key.counterparty, c.key.currency)] += c.amount
        elif c.key.account == _code_or_none(chart, "intercompany_payable"):
            payable[(c.key.counterparty, c.key.entity, c.key.currency)] -= c.amount
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
