"""The period summary of what no document carries: one balanced ``erp.journal.post``
payload per currency, by account and dimensions (issue 13). Pure: the ERP target's close
step (``services/ledger/erp_journals.py``, over stored rows) and the file exports (over
loaded ``JournalEntry`` values) build their summaries with this one function.

Rules:
- entries whose source is a document (``invoice``, ``credit_note``) or a payment are left
  out: the ERP gets the documents as its own invoices and credit notes, and records
  payments itself (``DOCUMENT_SOURCES``);
- every other line is summed per (account, currency, dimensions), signed (debit
  positive); a sum of zero is dropped; a non-zero sum becomes one line ``[account,
  "debit"|"credit", amount, currency]``, followed, when the line is foreign (its functional
  currency differs), by its functional amount, and by ``{"dimensions": [[name, value],
  …]}`` when it has dimensions. The functional amount is stated on the line's side, so the
  functional amounts balance as the entries' do: it is negative where rounding made the
  functional sum net the other way (a debit of 12 JPY whose functional parts, each rounded
  to the cent, net to a credit of 0.01 USD), and a sum of zero whose functional sum is not
  (a rounding residue) is kept as a line of amount 0 on its functional side;
- a foreign summary carries the rate its lines imply (functional ÷ transaction total of the
  debits, 10 places), so a target that books the base currency posts exactly the
  functional amounts Syncline booked; a home-currency summary carries none;
- each summary is dated the period's last day and keyed ``<name>:<currency>``;
- the revaluation of foreign receivables is left out (``drop_receivable_revaluation``): the
  ERP holds the foreign invoices and credit notes themselves, each with its rate, and
  revalues its own open receivables (NetSuite's currency revaluation, QuickBooks' home
  currency adjustment, Xero's unrealised gains); a line on its receivables account would
  double it, and Xero (a system account) and QuickBooks (no customer on the line) refuse
  one. Revaluations of other accounts travel as usual.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncline.ledger.fx import REVALUES
from syncline.ledger.journal import JournalEntry, Side
from syncline.ledger.periods import period_end

DOCUMENT_SOURCES = frozenset({"invoice", "credit_note", "payment"})
RATE_PLACES = Decimal("1E-10")


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """One journal line to summarize (``dimensions``: JSON ``[[name, value], …]``)."""

    entry_id: str
    account: str
    side: str  # "debit" | "credit"
    amount: Decimal
    currency: str
    functional_amount: Decimal | None = None
    functional_currency: str | None = None
    dimensions: str = "[]"
    source_type: str = ""


def _revalues(line: SummaryLine) -> str | None:
    return dict(json.loads(line.dimensions)).get(REVALUES) if line.dimensions else None


def drop_receivable_revaluation(lines: list[SummaryLine], receivable: str | None
                                ) -> list[SummaryLine]:
    """``lines`` less each ``fx_revaluation`` line on ``receivable`` and its gain/loss
    counterpart (same entry and currency revalued, amount and currency, the other side)."""
    if receivable is None:
        return lines
    dropped: set[int] = set()
    for i, r in enumerate(lines):
        if r.source_type != "fx_revaluation" or r.account != receivable or not _revalues(r):
            continue
        partner = next((j for j, o in enumerate(lines)
                        if j not in dropped and j != i and o.entry_id == r.entry_id
                        and o.account != receivable and o.side != r.side
                        and o.amount == r.amount and o.currency == r.currency
                        and _revalues(o) == _revalues(r)), None)
        if partner is not None:
            dropped |= {i, partner}
    return [r for i, r in enumerate(lines) if i not in dropped]


@dataclass
class _Sums:
    amount: Decimal = Decimal(0)  # signed: debit positive
    functional: Decimal = Decimal(0)
    functional_currency: str | None = None


def summary_lines(entries: Iterable[JournalEntry],
                  exclude: Iterable[str] = ()) -> list[SummaryLine]:
    """The lines of ``entries`` a summary carries (document and payment entries left out)."""
    skip = DOCUMENT_SOURCES | set(exclude)
    out = []
    for e in entries:
        if e.source_type in skip:
            continue
        for ln in e.lines:
            out.append(SummaryLine(
                entry_id=f"{e.entity_id}:{e.source_type}:{e.source_id}",
                account=ln.account, side="debit" if ln.side is Side.DEBIT else "credit",
                amount=ln.amount.amount, currency=ln.amount.currency,
                functional_amount=ln.functional.amount if ln.functional else None,
                functional_currency=ln.functional.currency if ln.functional else None,
                dimensions=json.dumps([list(d) for d in ln.dimensions])
                if ln.dimensions else "[]", source_type=e.source_type))
    return out


def summary_payloads(lines: Iterable[SummaryLine], *, name: str, entity: str,
                     period: str) -> list[dict[str, Any]]:
    """The ``erp.journal.post`` payloads (one per currency) of ``lines``."""
    sums: dict[tuple[str, str, str], _Sums] = defaultdict(_Sums)
    entries: set[str] = set()
    for r in lines:
        entries.add(r.entry_id)
        sign = Decimal(1) if r.side == "debit" else Decimal(-1)
        s = sums[(r.account, r.currency, r.dimensions or "[]")]
        s.amount += sign * Decimal(r.amount)
        if r.functional_amount is not None and r.functional_currency != r.currency:
            s.functional += sign * Decimal(r.functional_amount)
            s.functional_currency = r.functional_currency
    out = []
    for currency in sorted({k[1] for k in sums}):
        body: list[list[Any]] = []
        total, functional_total, quote = Decimal(0), Decimal(0), None
        for (account, cur, dims), s in sorted(sums.items()):
            if cur != currency or (s.amount == 0 and s.functional == 0):
                continue
            debit = s.amount > 0 or (s.amount == 0 and s.functional > 0)
            line: list[Any] = [account, "debit" if debit else "credit",
                               str(abs(s.amount)), currency]
            if s.functional_currency:  # on the line's side: negative when the rounding of
                line.append(str(s.functional if debit else -s.functional))  # small amounts
                quote = s.functional_currency  # nets the other way (module doc)
                if s.amount > 0:
                    total += s.amount
                    functional_total += s.functional
            if dims != "[]":
                line.append({"dimensions": json.loads(dims)})
            body.append(line)
        if not body:
            continue
        fx = None
        if quote and total:
            fx = {"base": currency, "quote": quote,
                  "rate": str((functional_total / total).quantize(RATE_PLACES)),
                  "source": "summary: functional ÷ transaction amounts", "as_of": None}
        out.append({"source": f"{name}:{currency}", "entity": entity,
                    "date": period_end(period).isoformat(),
                    "description": f"Syncline summary {period} {currency} ({len(entries)} "
                    "entries)", "fx": fx, "lines": body})
    return out
