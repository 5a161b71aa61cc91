"""fx.rates_published: month-end rates into fx_rates; a conflicting rate is a finance exception.
Messages waiting for a rate these satisfy (``fx:<BASE>/<QUOTE>:<date>``) are released."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select

from syncline.adapters.db.billing_tables import (
    fx_rates,
)
from syncline.adapters.db.tables import parked
from syncline.domain.errors import BusinessDomain, Problem
from syncline.ledger.money import is_known_currency
from syncline.services.handlers.expenses import forget_fx_rates
from syncline.services.messaging.bulk import insert_rows
from syncline.services.messaging.outcomes import Applied, Failed, Outcome
from syncline.services.messaging.unit_of_work import Batch

# Built once (ADR 0002): a publication runs them.
_STORED = select(fx_rates.c.quote, fx_rates.c.rate).where(
    (fx_rates.c.base == bindparam("b")) & (fx_rates.c.as_of == bindparam("d"))
    & fx_rates.c.quote.in_(bindparam("q", expanding=True)))
_WAITING = select(parked.c.prerequisite).distinct().where(
    parked.c.released_at.is_(None) & parked.c.prerequisite.like("fx:%"))


def publish_fx_rates(b: Batch, data: Mapping[str, Any]) -> Outcome:
    """Store treasury's rates (1 base = rate quote, as of a date) for expenses and invoices.

    Idempotent per (base, quote, as_of); a stored rate is never changed: the same pair and day
    with another rate is a finance exception. A rate that is not positive, or a currency that
    is not ISO 4217, refuses the whole publication (a finance exception with remediation)."""
    base, as_of, source = str(data["base"]), date.fromisoformat(str(data["as_of"])), \
        str(data["source"])
    objects = (("fx_rates", f"{base} {as_of}"),)
    fix = (f"Treasury corrects the {base} rates of {as_of} in {source} (positive rates, ISO "
           "4217 currencies, a quote other than the base) and publishes them again; or edit "
           "this message and replay it.")
    problems: list[Problem] = []
    if not is_known_currency(base):
        problems.append(Problem("fx.rate_invalid", BusinessDomain.FINANCE,
                                f"base currency {base!r} is not an ISO 4217 code", fix,
                                "data.base", objects=objects))
    parsed: dict[str, Decimal] = {}
    for quote, text in sorted(dict(data["rates"]).items()):
        rate = Decimal(str(text))
        if not is_known_currency(quote) or quote == base:
            problems.append(Problem(
                "fx.rate_invalid", BusinessDomain.FINANCE,
                f"{base}/{quote} on {as_of}: {quote!r} is not an ISO 4217 code other than the "
                "base", fix, f"data.rates.{quote}", objects=objects))
        elif rate <= 0:
            problems.append(Problem(
                "fx.rate_invalid", BusinessDomain.FINANCE,
                f"{base}/{quote} on {as_of}: rate {rate} is not positive", fix,
                f"data.rates.{quote}", objects=objects))
        else:
            parsed[quote] = rate
    if problems:
        return Failed(tuple(problems))
    stored = {r.quote: r.rate for r in b.conn.execute(_STORED, {
        "b": base, "d": as_of.isoformat(), "q": sorted(parsed)})}
    clash = sorted(q for q, r in parsed.items() if q in stored and stored[q] != r)
    if clash:
        return Failed((Problem(
            "fx.rate_conflict", BusinessDomain.FINANCE,
            f"{base} rates of {as_of} from {source} differ from those already stored for "
            + ", ".join(f"{q} ({stored[q]} stored, {parsed[q]} now)" for q in clash),
            "Treasury confirms which rate is right. A stored rate is never overwritten (items "
            "and invoices keep the rate they were converted at): if the stored one is wrong, "
            "publish the correction for the next day, then skip this message.",
            "data.rates", objects=objects),))
    new = [{"base": base, "quote": q, "as_of": as_of.isoformat(), "rate": r, "source": source}
           for q, r in sorted(parsed.items()) if q not in stored]
    if new:
        forget_fx_rates(b)  # (expense sets read them once a batch)
        insert_rows(b.conn, fx_rates, new)
    return Applied(note="" if new else "rates already stored (idempotent)",
                   provides=_satisfied(b, base, sorted(parsed), as_of))


def _satisfied(b: Batch, base: str, quotes: list[str], as_of: date) -> tuple[str, ...]:
    """The waiting ``fx:<BASE>/<QUOTE>:<date>`` keys these rates satisfy: the pair either
    way round (an inverse is used when no direct rate exists), needed on or after ``as_of``
    (a rate applies from its date). The messages waiting on them are re-applied."""
    pairs = {f"{base}/{q}" for q in quotes} | {f"{q}/{base}" for q in quotes}
    out = []
    for key in b.conn.execute(_WAITING).scalars():
        _, pair, day = key.split(":", 2)
        if pair in pairs and day >= as_of.isoformat():
            out.append(key)
    return tuple(sorted(out))
