"""Functional amounts of a foreign-currency true-up (the rule in `with_functional_amounts`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from syncline.billing.fx import FxSnapshot
from syncline.ledger.journal import JournalEntry, JournalLine, Side
from syncline.ledger.money import Money


def with_functional_amounts(entry: JournalEntry, *, functional: str, closing: FxSnapshot,
                            carrying: Mapping[str, tuple[Decimal, Decimal]],
                            balance_accounts: Mapping[str, str], number: str,
                            ) -> JournalEntry:
    """Functional amounts for a foreign-currency true-up (the stated rule):

    - a line that reduces the contract's contract liability or unbilled receivable takes the
      balance's carrying rate (its historical rate: revenue out of an advance is measured at
      the rate of the advance, IFRIC 22 / ASC 830), a line that adds to it the closing rate;
    - the revenue line is the balancing line (the sum of the others), so the entry balances
      in the functional currency; without a revenue line (a pure reclassification) the
      unbilled line balances.
    """
    converted: list[JournalLine | None] = []
    for ln in entry.lines:
        role = balance_accounts.get(ln.account)
        if role is None:
            converted.append(None)
            continue
        tx, fn = carrying.get(ln.account, (Decimal(0), Decimal(0)))
        reduces = tx != 0 and (ln.signed > 0) != (tx > 0)
        if reduces:
            rate = (fn / tx).quantize(Decimal("1e-10"))
            source = f"carrying rate of the {role} of contract {number}"
        else:
            rate, source = closing.rate, closing.source
        converted.append(replace(ln, functional=Money(ln.amount.amount * rate,
                                                      functional).rounded(),
                                 fx_rate=rate, fx_source=source, fx_date=closing.as_of))
    open_lines = [i for i, c in enumerate(converted) if c is None]
    if not open_lines:  # no revenue line: the unbilled line balances
        open_lines = [i for i, ln in enumerate(entry.lines)
                      if balance_accounts.get(ln.account) == "unbilled receivable"][:1]
    first, others = open_lines[0], open_lines[1:]

    def at_closing(ln: JournalLine) -> JournalLine:
        return replace(ln, functional=Money(ln.amount.amount * closing.rate,
                                            functional).rounded(),
                       fx_rate=closing.rate, fx_source=closing.source, fx_date=closing.as_of)

    out = [at_closing(ln) if i in others else (converted[i] or ln)
           for i, ln in enumerate(entry.lines)]
    net = sum(((ln.functional.amount if ln.side is Side.DEBIT else -ln.functional.amount)
               for i, ln in enumerate(out) if i != first and ln.functional is not None),
              Decimal(0))
    ln = out[first]
    value = -net if ln.side is Side.DEBIT else net
    out[first] = replace(ln, functional=Money(value, functional),
                         fx_rate=(value / ln.amount.amount).quantize(Decimal("1e-10")),
                         fx_source=f"balancing line ({closing.source})", fx_date=closing.as_of)
    return replace(entry, lines=tuple(out))
