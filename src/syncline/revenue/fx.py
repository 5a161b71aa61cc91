"""Foreign-currency contracts: realized FX gain or loss on settlement (ASC 830-20-35-1,
IAS 21.23 and 21.28).

A contract in another currency than the entity's functional currency records each invoice at
its invoice-date rate (the receivable in functional currency, ASC 830-20-30-1, IAS 21.21) and
each payment at its settlement rate. The difference on the amount settled is realized:
``functional at settlement − functional at the invoice rate``, a gain when positive, a loss
when negative, each rounded to the functional currency's minor unit by the policy's rounding.
The entry it implies: Dr cash (at settlement), Cr receivable (at the invoice rate), and the
difference to FX gain/loss. A payment without both rates is not measured (listed with the
missing rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from syncline.revenue.schedule.result import ScheduleResult
from syncline.revenue.units import round_units, to_units


@dataclass(frozen=True, slots=True)
class RealizedFx:
    invoice_id: str
    payment_date: date
    amount: int  # settled, minor units of the contract currency
    invoice_rate: Decimal | None
    settlement_rate: Decimal | None
    at_invoice: int  # functional minor units
    at_settlement: int
    gain: int  # at_settlement − at_invoice: negative is a loss
    missing: str = ""  # which rate is missing, when not measured


def realized_fx(result: ScheduleResult) -> tuple[RealizedFx, ...]:
    """Realized FX of every payment applied to an invoice, up to ``as_of``."""
    c = result.source
    functional = c.functional_currency
    if not functional or functional == c.currency:
        return ()
    invoices = {i.id: i for i in c.invoices}
    out = []
    for p in sorted(c.payments, key=lambda p: (p.date, p.invoice_id)):
        inv = invoices.get(p.invoice_id)
        if inv is None or p.date > result.as_of:
            continue
        settled = to_units(p.amount, c.currency, f"payments[{p.invoice_id}].amount")
        missing = " and ".join(x for x, r in (("invoice rate", inv.rate),
                                               ("settlement rate", p.rate)) if r is None)
        if missing:
            out.append(RealizedFx(inv.id, p.date, settled, inv.rate, p.rate, 0, 0, 0,
                                  missing))
            continue
        assert inv.rate is not None and p.rate is not None
        rounding = result.policy.rounding
        at_invoice = round_units(p.amount * inv.rate, functional, rounding)
        at_settlement = round_units(p.amount * p.rate, functional, rounding)
        out.append(RealizedFx(inv.id, p.date, settled, inv.rate, p.rate, at_invoice,
                              at_settlement, at_settlement - at_invoice))
    return tuple(out)
