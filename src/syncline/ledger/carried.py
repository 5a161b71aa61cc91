"""Carried balances: the books through a locked month, summed per what the close's checks and
reports tell apart, so that a later period reads them plus only the entries after that month
(docs/adr/0014-carried-balances.md).

A line's contribution is kept per ``CarryKey``: the entity, the entry's source type, the
account, the currency, the currency of the functional amount the line states (if any), the
dimensions the checks group by (``fx_revalues``, ``counterparty`` with the intercompany charge
its entry belongs to) and who the line belongs to — the contract of the entry (an invoice's or
credit note's, a revenue true-up's), and on the receivable account the document (the invoice an
invoice, credit note or payment settles) or, for an entry that names none, the entry itself.
Each key holds the exact debit-positive sum of the transaction amounts and of the functional
amounts stated. Folding is associative: carrying month P onto the carry of month P-1 gives the
same balances as carrying the whole history through P (tests/property/test_carried.py).

What the checks need of the entry order is kept too: for each receivable document (or entry)
the currency of the first line of the first entry that moved it (``first_currency``; the AR
check names a posting without its invoice in it), and an entry's description (``note``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from syncline.ledger.dimensions import CHARGE, COUNTERPARTY, REVALUES
from syncline.ledger.journal import JournalEntry, Side

ZERO = Decimal(0)
FX_REVALUATION = "fx_revaluation"  # the source type whose AR lines the AR check leaves out


@dataclass(frozen=True, slots=True, order=True)
class CarryKey:
    entity: str
    source_type: str
    account: str
    currency: str
    functional_currency: str  # of the functional amount the line states; "" when none
    revalues: str  # the line's ``fx_revalues`` dimension; "" when none
    counterparty: str  # the line's ``counterparty`` dimension; "" when none
    charge: str  # with a counterparty: the entry's intercompany charge, else "type:id"
    contract: str  # the contract the entry belongs to; "" when none
    document: str  # on the receivable account: the invoice the entry belongs to
    entry: str  # on the receivable account, an entry of no document: "type:id"


@dataclass(frozen=True, slots=True)
class Carried:
    """The exact sums of the lines of one key through the carried month."""

    key: CarryKey
    amount: Decimal  # debit-positive, transaction currency
    functional: Decimal  # debit-positive sum of the functional amounts the lines state
    first_currency: str = ""  # receivable rows: see the module doc
    note: str = ""  # ``entry`` rows: the entry's description


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who a journal entry belongs to, as the checks decide it (read from the documents by the
    service layer): ``contract_of`` an entry's contract; ``document_of`` the invoice an
    invoice, credit note or payment entry settles (None when it names none); ``receivable``
    the receivable account of each entity."""

    contract_of: Callable[[JournalEntry], str | None]
    document_of: Callable[[JournalEntry], str | None]
    receivable: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Books:
    """The books through a period: ``carried`` balances through each entity's carried month
    (``through``), then the ``entries`` dated after it (each entity's own), in posting order.
    With nothing carried, ``entries`` are the whole books."""

    carried: tuple[Carried, ...] = ()
    entries: tuple[JournalEntry, ...] = ()
    through: Mapping[str, str] = field(default_factory=dict)

    def of(self, entity: str | None) -> Books:
        if entity is None:
            return self
        return Books(tuple(c for c in self.carried if c.key.entity == entity),
                     tuple(e for e in self.entries if e.entity_id == entity),
                     {k: v for k, v in self.through.items() if k == entity})


def ar_amount(entry: JournalEntry, receivable: str | None) -> Decimal:
    """The entry's debit-positive amount on the receivable account, leaving out the lines that
    only restate a foreign balance (``fx_revalues``), summed over its currencies."""
    return sum((ln.signed for ln in entry.lines if ln.account == receivable
                and REVALUES not in dict(ln.dimensions)), ZERO)


def carry_forward(carried: Iterable[Carried], entries: Iterable[JournalEntry],
                  attribution: Attribution) -> tuple[Carried, ...]:
    """``carried`` with ``entries`` (in posting order, dated after them) added, sorted by key."""
    sums: dict[CarryKey, list[Decimal]] = {}
    first: dict[tuple[str, str, str], str] = {}  # (entity, document, entry) → first currency
    notes: dict[tuple[str, str], str] = {}
    for c in carried:
        sums[c.key] = [c.amount, c.functional]
        if c.first_currency:
            first.setdefault((c.key.entity, c.key.document, c.key.entry), c.first_currency)
        if c.note:
            notes.setdefault((c.key.entity, c.key.entry), c.note)
    for e in entries:
        receivable = attribution.receivable.get(e.entity_id)
        contract = attribution.contract_of(e) or ""
        document = attribution.document_of(e)
        own = f"{e.source_type}:{e.source_id}"
        charge = dict(e.metadata).get(CHARGE, own)
        # the AR check leaves revaluations out: their receivable lines name no entry
        on_ar = "" if document is not None or e.source_type == FX_REVALUATION else own
        if any(ln.account == receivable for ln in e.lines) and e.source_type != FX_REVALUATION:
            if ar_amount(e, receivable):
                first.setdefault((e.entity_id, document or "", on_ar), e.lines[0].amount.currency)
            if document is None:
                notes.setdefault((e.entity_id, own), e.description)
        for ln in e.lines:
            dims = dict(ln.dimensions)
            counterparty = dims.get(COUNTERPARTY, "")
            ar = ln.account == receivable
            key = CarryKey(e.entity_id, e.source_type, ln.account, ln.amount.currency,
                           ln.functional.currency if ln.functional is not None else "",
                           dims.get(REVALUES, ""), counterparty,
                           charge if counterparty else "", contract,
                           (document or "") if ar else "", on_ar if ar else "")
            got = sums.setdefault(key, [ZERO, ZERO])
            got[0] += ln.signed
            if ln.functional is not None:
                got[1] += ln.functional.amount if ln.side is Side.DEBIT \
                    else -ln.functional.amount
    out = []
    for key in sorted(sums):
        amount, functional = sums[key]
        on_receivable = bool(key.document or key.entry)
        out.append(Carried(key, amount, functional,
                           first.get((key.entity, key.document, key.entry), "")
                           if on_receivable else "",
                           notes.get((key.entity, key.entry), "") if key.entry else ""))
    return tuple(out)


def entry_contract(e: JournalEntry, of_document: Mapping[str, str]) -> str | None:
    """The contract a journal entry belongs to: its invoice's or credit note's (looked up in
    ``of_document``, document number to contract), or the contract of a revenue true-up
    (``revenue:<contract>:<period>[:rN]``); None for the others (accruals, labor cost,
    intercompany …)."""
    if e.source_type in ("invoice", "credit_note"):
        return of_document.get(e.source_id)
    if e.source_type == "revenue" and e.source_id.startswith("revenue:"):
        return e.source_id.split(":")[1]
    return None
