"""Close reconciliation, FX revaluation: each open foreign-currency balance of the revalued
roles is carried at its closing rate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from syncline.billing.fx import FxRateMissing
from syncline.ledger.accounts import ChartOfAccounts, Charts
from syncline.ledger.carried import Books
from syncline.ledger.fx import FxError, convert, unconverted
from syncline.ledger.journal import JournalEntry
from syncline.services.close.fx_revaluation import closing_rates, positions
from syncline.services.ledger.queries import load_entries
from syncline.services.ledger.reconciliation.core import Recon
from syncline.services.ledger.reports.common import ZERO


def revaluation_check(conn: Connection, rec: Recon, period: str,
                       books: Books, charts: Mapping[str, ChartOfAccounts],
                       entity: str | None, policy: Any, functional: Mapping[str, str]) -> None:
    """Each open foreign-currency balance of the revalued roles is carried at its closing
    rate: round(balance × closing rate) (expected) vs the carrying amount (actual)."""
    check = "foreign balances revalued at closing rate"
    if policy is None:
        rec.skipped(check, "no revaluation policy given (the close passes the ledger "
                           "configuration's)")
        return
    if not policy.enabled:
        rec.skipped(check, "fx_revaluation.enabled is false in the ledger configuration")
        return
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    as_charts_ = Charts(charts)

    def revalued(ent: str) -> set[str]:
        chart = as_charts_.of(ent)
        return {chart.code(r) for r in policy.roles if any(a.role == r for a in chart.accounts)}

    for ent in sorted({e.entity_id for e in books.entries}
                      | {c.key.entity for c in books.carried}):
        if (entity and ent != entity) or ent not in functional:
            continue
        cur_f = functional[ent]
        carried = [c for c in books.carried if c.key.entity == ent]
        entries: Sequence[JournalEntry] = books.entries
        accounts = revalued(ent)  # once per entity, not per carried row
        if any(unconverted(c, cur_f) for c in carried if c.key.account in accounts):
            # the error names its entry, which no carry keeps: read the entity's books whole
            carried, entries = [], load_entries(conn, through=period, entity=ent)
        found = positions(entries, ent, as_charts_, cur_f, period, policy, carried)
        if isinstance(found, FxError):
            rec.diff(check, found.problem, "entity", ent, ent, cur_f, ZERO, ZERO, found.message)
            totals[(ent, cur_f)] = [ZERO, ZERO]
            continue
        rates = closing_rates(conn, sorted({p.balance.currency for p in found}), cur_f, period)
        for p in found:
            cur = p.balance.currency
            rate = rates[cur]
            unit = f"{cur_f} ({cur} {p.account})"
            actual = p.carrying.amount
            if p.balance.is_zero:
                want = ZERO
            elif isinstance(rate, FxRateMissing):
                totals[(ent, unit)][1] += actual
                rec.diff(check, "closing_rate_missing", "fx_rate", f"{cur}/{cur_f}", ent, unit,
                         ZERO, actual, rate.message)
                continue
            else:
                want = convert(p.balance, rate).amount
            totals[(ent, unit)][0] += want
            totals[(ent, unit)][1] += actual
            if want != actual:
                rec.diff(check, "not_revalued", "account", p.account, ent, unit, want, actual,
                         f"{p.balance.canonical()} carried at {p.carrying.canonical()}")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              f"roles {', '.join(policy.roles)}: balance at the closing rate (expected) vs "
              "carrying amount (actual)", entity=entity)
