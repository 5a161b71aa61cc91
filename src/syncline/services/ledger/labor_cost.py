"""Labor cost month by month: what approved time costs as known now, what the books posted for
it, and which months a close trues up (docs/ledger.md, "Closed periods do not change").

The billing run posts a month's labor cost once (``labor:<entity>:<currency>:<YYYY-MM>``, rule
``billing.labor_cost``). Time approved or rejected for a month after that is a *late change*:
the close of the open period posts the difference for each earlier month that is closed
(``labor:<entity>:<currency>:<month>:late:<period>``, dated the open period's end), and for
its own month when its cost was already posted. A closed month's cost never changes; the
reconciliation expects exactly these entries in the period (``labor_cost_vs_gl``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import journal_entries, journal_lines
from syncline.ledger.accounts import Charts
from syncline.ledger.journal import Side
from syncline.ledger.periods import PeriodStatus, period_end, period_start
from syncline.ledger.posting import LABOR_COST, PostingRules
from syncline.services.ledger.held import held
from syncline.services.ledger.labor_cost_months import month_costs
from syncline.services.ledger.periods import statuses
from syncline.services.ledger.reports.common import ZERO

CENT = Decimal("0.01")
Key = tuple[str, str, str]  # (entity, cost currency, month)


@dataclass(frozen=True, slots=True)
class Posted:
    """One labor cost entry, attributed to the month its source names."""

    key: Key
    source_id: str
    posting_date: str
    amount: Decimal  # on the rule's cost account, debit-positive


def known_cost(conn: Connection, through: str) -> dict[Key, Decimal]:
    """Approved time worked up to the end of ``through`` at the HR cost rate on each work
    date, per (worker's entity, cost currency, month), rounded half-up as the run posts it.
    Worked out once for every scope of a close step (``held``)."""
    return held(conn, ("known_cost", through), lambda: _known_cost(conn, through))


def _known_cost(conn: Connection, through: str) -> dict[Key, Decimal]:
    out: dict[Key, Decimal] = defaultdict(Decimal)
    for cells in month_costs(conn, None, through).values():  # current cells, not re-costed
        for c in cells:
            if c.rated and c.cost_entity and c.cost_currency:
                out[(c.cost_entity, c.cost_currency, c.month)] += c.cost
    return {k: v.quantize(CENT, rounding=ROUND_HALF_UP) for k, v in sorted(out.items())}


def posted_cost(conn: Connection, charts: Charts, rules: PostingRules,
                through: str) -> list[Posted]:
    """Every labor cost entry dated up to the end of ``through``: what it posted on its
    entity's cost account (the account of the rule's debit ``cost`` line)."""
    heads = conn.execute(select(journal_entries.c.id, journal_entries.c.entity_code,
                                journal_entries.c.source_id, journal_entries.c.posting_date)
                         .where((journal_entries.c.source_type == "labor_cost")
                                & (journal_entries.c.posting_date
                                   <= period_end(through).isoformat()))).all()
    if not heads:
        return []
    lines: dict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
    ids = [h.id for h in heads]
    for start in range(0, len(ids), 500):
        for ln in conn.execute(select(journal_lines.c.entry_id, journal_lines.c.account,
                                      journal_lines.c.side, journal_lines.c.amount).where(
                journal_lines.c.entry_id.in_(ids[start:start + 500]))):
            lines[ln.entry_id].append((ln.account, ln.side, ln.amount))
    out = []
    for h in heads:
        parts = h.source_id.split(":")
        if len(parts) < 4 or parts[0] != "labor":
            continue
        account = cost_account(charts, rules, h.entity_code)
        amount = sum(((a if side == Side.DEBIT.value else -a)
                      for acc, side, a in lines[h.id] if acc == account), ZERO)
        out.append(Posted((parts[1], parts[2], parts[3]), h.source_id, h.posting_date, amount))
    return out


def cost_account(charts: Charts, rules: PostingRules, entity: str) -> str | None:
    rule = rules.rule(LABOR_COST, entity)
    line = next((tl for tl in rule.lines if tl.amount == "cost" and tl.side is Side.DEBIT),
                None)
    if line is None:
        return None
    chart = charts.of(entity)
    return chart.code(line.role) if any(a.role == line.role for a in chart.accounts) else None


def months_trued_up(conn: Connection, period: str, keys: set[Key],
                    posted: list[Posted]) -> set[Key]:
    """The (entity, currency, month) whose late changes the close of ``period`` posts: each
    earlier month closed or locked for its entity, and the period's own month once its cost
    was posted (before that, the billing run posts it whole)."""
    based = {p.key for p in posted if p.source_id == "labor:" + ":".join(p.key)}
    out = set()
    known = statuses(conn)
    for key in keys | {p.key for p in posted}:
        ent, _, month = key
        if month > period:
            continue
        if month == period:
            if key in based:
                out.add(key)
            continue
        if known.get((ent, month), PeriodStatus.OPEN) is not PeriodStatus.OPEN:
            out.add(key)
    return out


def late_source(conn: Connection, key: Key, period: str) -> str:
    """``labor:<entity>:<currency>:<month>:late:<period>``, then ``…:r2`` … when a reopened
    period's close trues up again."""
    base = "labor:" + ":".join(key) + f":late:{period}"
    taken = {r.source_id for r in conn.execute(select(journal_entries.c.source_id).where(
        (journal_entries.c.source_type == "labor_cost")
        & journal_entries.c.source_id.like(f"{base}%")))}
    return base if base not in taken else f"{base}:r{len(taken) + 1}"


def late_changes(conn: Connection, period: str, charts: Charts, rules: PostingRules,
                 ) -> dict[Key, tuple[Decimal, Decimal]]:
    """Per month the close of ``period`` trues up: (cost known now, cost posted for it up to
    the period end)."""
    known = known_cost(conn, period)
    posted = posted_cost(conn, charts, rules, period)
    by_key: dict[Key, Decimal] = defaultdict(Decimal)
    for p in posted:
        by_key[p.key] += p.amount
    return {k: (known.get(k, ZERO), by_key.get(k, ZERO))
            for k in sorted(months_trued_up(conn, period, set(known), posted))}


def in_period(posted: list[Posted], period: str) -> list[Posted]:
    start, end = period_start(period).isoformat(), period_end(period).isoformat()
    return [p for p in posted if start <= p.posting_date <= end]


__all__ = ["Key", "Posted", "cost_account", "in_period", "known_cost", "late_changes",
           "late_source", "months_trued_up", "posted_cost"]
