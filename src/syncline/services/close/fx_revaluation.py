"""FX revaluation of open foreign-currency balances at close (a ledger-configuration option).

For each entity and each account of the policy's roles (``fx_revaluation.roles``; AR by
default), every foreign-currency balance at the period end is restated at the closing rate —
the latest ``fx_rates`` row for (currency → functional currency) dated on or before the
period end, or the inverse of a published rate — and the difference from its carrying
amount is posted to the account and ``fx_gain_loss`` in the functional currency
(``ledger.fx.revalue``).

Cumulative, never reversed: the carrying amount already includes every earlier revaluation
(lines with the ``fx_revalues`` dimension, as ``foreign_positions`` counts them), so each
close posts only the movement since the last one, and a balance that is settled releases
what is left of its revaluation. There is no reversing entry on the first day of the next
period, so the GL balance of the account is always the restated amount at the last close.

One entry per entity and period, source id ``fxreval:<entity>:<YYYY-MM>``, dated the period
end. A second close finds nothing to move and posts nothing. If a later run does find a
difference (a closing rate loaded late, a late invoice), it posts it as
``fxreval:<entity>:<YYYY-MM>:r2`` (r3, …). A missing closing rate is one finance exception
per (entity, currency pair, period) (``ledger.revaluation_fx_rate_missing``); that currency
stays as carried and the other currencies are revalued. ``enabled: false`` skips the step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import journal_entries
from syncline.billing.fx import FxRateMissing, lookup_rate
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.ledger.accounts import Charts, UnknownAccountRole
from syncline.ledger.carried import Carried
from syncline.ledger.fx import (
    FxError,
    FxPosition,
    FxRate,
    RevaluationPolicy,
    foreign_positions,
    unconverted,
)
from syncline.ledger.fx import revalue as revalue_entries
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import ClosedPeriodPolicy, period_end
from syncline.services.billing.fx import load_fx_rates
from syncline.services.close.intercompany import as_fx_rate, rate_problem
from syncline.services.ledger.carried import load_books
from syncline.services.ledger.posting import post
from syncline.services.ledger.queries import load_entries
from syncline.services.messaging.exceptions import raise_once, resolve_if_open

SOURCE_TYPE = "fx_revaluation"
RATE_MISSING = "ledger.revaluation_fx_rate_missing"
FAILED = "ledger.revaluation_failed"


def base_source_id(entity: str, period: str) -> str:
    return f"fxreval:{entity}:{period}"


def _next_source_id(conn: Connection, entity: str, period: str) -> str:
    base = base_source_id(entity, period)
    taken = set(conn.execute(select(journal_entries.c.source_id).where(
        (journal_entries.c.source_type == SOURCE_TYPE)
        & ((journal_entries.c.source_id == base)
           | journal_entries.c.source_id.like(f"{base}:r%")))).scalars())
    if base not in taken:
        return base
    n = 2
    while f"{base}:r{n}" in taken:
        n += 1
    return f"{base}:r{n}"


def positions(entries: Sequence[JournalEntry], entity: str, charts: Charts,
              functional: str, period: str, policy: RevaluationPolicy,
              carried: Sequence[Carried] = ()) -> list[FxPosition] | FxError:
    """Foreign-currency balances of the revalued roles at the period end (with carrying)."""
    chart = charts.of(entity)
    out: list[FxPosition] = []
    for role in policy.roles:
        try:
            account = chart.code(role)
        except UnknownAccountRole:
            return FxError("unmapped_role", f"the chart of {entity} maps no role {role!r}")
        found = foreign_positions(entries, entity, account, functional, period_end(period),
                                  carried)
        if isinstance(found, FxError):
            return found
        out.extend(p for p in found if not (p.balance.is_zero and p.carrying.is_zero))
    return out


def _books(conn: Connection, period: str, entity: str, charts: Charts, functional: str,
           policy: RevaluationPolicy) -> tuple[list[JournalEntry], tuple[Carried, ...]]:
    """What the positions of ``entity`` read: its books carried through a month before the
    period (ADR 0014) and the entries after it — unless a carried line on a revalued account
    lacks its functional amount (the error names its entry: the books are read whole) — of
    which only the entries with a line on a revalued account (``foreign_positions`` reads
    those accounts' lines alone)."""
    accounts = _revalued_accounts(charts, entity, policy)
    books = load_books(conn, period, {entity: charts.of(entity)}, entity=entity)
    carried = tuple(c for c in books.carried if accounts is None or c.key.account in accounts)
    if not any(unconverted(c, functional) for c in carried):
        return [e for e in books.entries if accounts is None
                or any(ln.account in accounts for ln in e.lines)], carried
    return load_entries(conn, through=period, entity=entity, touching=accounts), ()


def _revalued_accounts(charts: Charts, entity: str, policy: RevaluationPolicy
                       ) -> tuple[str, ...] | None:
    """The accounts of the revalued roles in the entity's chart; None (every entry) when a
    role is not mapped — `positions` then says which."""
    chart = charts.of(entity)
    try:
        return tuple(chart.code(role) for role in policy.roles)
    except UnknownAccountRole:
        return None


def closing_rates(conn: Connection, currencies: Sequence[str], functional: str,
                  period: str) -> dict[str, FxRate | FxRateMissing]:
    snaps = load_fx_rates(conn)
    out: dict[str, FxRate | FxRateMissing] = {}
    for cur in currencies:
        found = lookup_rate(snaps, base=cur, quote=functional, on=period_end(period))
        out[cur] = found if isinstance(found, FxRateMissing) else as_fx_rate(found)
    return out


def revalue_period(
    conn: Connection,
    period: str,
    *,
    entities: Sequence[str],
    charts: Charts,
    functional_currencies: Mapping[str, str],
    policy: RevaluationPolicy,
    now: datetime,
    closed_period_policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE,
) -> dict[str, Any]:
    """Revalue each entity's open foreign-currency balances at the period end; a JSON-ready
    summary per entity."""
    if not policy.enabled:
        return {"skipped": True, "note": "fx_revaluation.enabled is false in the ledger "
                "configuration: open foreign-currency balances are not revalued"}
    end = period_end(period)
    out: dict[str, Any] = {"roles": list(policy.roles), "entries": 0, "exceptions": [],
                           "entities": {}}
    for entity in entities:
        functional = functional_currencies.get(entity)
        if functional is None:
            continue
        entries, carried = _books(conn, period, entity, charts, functional, policy)
        found = positions(entries, entity, charts, functional, period, policy, carried)
        if isinstance(found, FxError):
            exc = raise_once(conn, Problem(
                FAILED, BusinessDomain.FINANCE,
                f"FX revaluation of {entity} for {period}: {found.message}",
                "Map the role in the entity's chart of accounts, or state the functional "
                "amount of the foreign-currency posting (reverse and repost it with its rate); "
                "then run the close again.", severity=Severity.HIGH,
                objects=(("period", f"{entity}:{period}"),)), now)
            out["exceptions"].append(exc)
            out["entities"][entity] = {"error": found.message}
            continue
        currencies = sorted({p.balance.currency for p in found})
        rates = closing_rates(conn, currencies, functional, period)
        usable: dict[str, FxRate] = {}
        missing: list[str] = []
        for cur, rate in rates.items():
            objects = [["fx_rate", f"{cur}/{functional}"], ["period", f"{entity}:{period}"]]
            if isinstance(rate, FxRateMissing):
                if any(p.balance.currency == cur and not p.balance.is_zero for p in found):
                    missing.append(cur)
                    exc = raise_once(conn, rate_problem(
                        RATE_MISSING, entity, cur, functional, period, end,
                        "open foreign-currency balances"), now)
                    out["exceptions"].append(exc)
            else:
                usable[cur] = rate
                resolve_if_open(conn, RATE_MISSING, objects, now,
                                "the closing rate is now loaded and the balance revalued")
        entry = revalue_entries(
            entries, entity_id=entity, functional_currency=functional, closing_rates=usable,
            as_of=end, chart=charts.of(entity), source_id=base_source_id(entity, period),
            policy=policy, currencies=[c for c in currencies if c not in missing],
            balances=carried)
        summary: dict[str, Any] = {
            "functional": functional,
            "positions": {p.balance.currency: {"balance": format(p.balance.amount, "f"),
                                               "carrying": format(p.carrying.amount, "f")}
                          for p in found},
            "rates": {c: f"{r.rate} ({r.source} {r.as_of.isoformat()})"
                      for c, r in usable.items()},
            "waiting_for_rate": missing}
        if isinstance(entry, FxError):  # not expected: missing rates are filtered above
            summary["error"] = entry.message
        elif entry is not None:
            entry = replace(entry, source_id=_next_source_id(conn, entity, period),
                            metadata=(("period", period),))
            outcome = post(conn, entry, now, closed_period_policy)
            summary["posted"] = outcome.status
            summary["source_id"] = entry.source_id
            summary["gain_loss"] = format(sum(
                (ln.signed for ln in entry.lines if ln.account == charts.of(entity).code(
                    "fx_gain_loss")), start=0) * -1, "f")
            out["entries"] += outcome.stored
        out["entities"][entity] = summary
    return out
