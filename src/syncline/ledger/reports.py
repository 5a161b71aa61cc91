"""Reports derived from journal entries: table-shaped values a CLI prints as table/json/csv/xlsx.

Every report is a ``Table`` (title, column names, rows of ``str`` or ``Decimal``), computed
from entries alone — nothing here is stored as truth. Amounts are per currency: by default
the transaction currency; with ``functional`` (entity → functional currency) a line counts at
its functional amount (a line that has none stays in its transaction currency, so it shows
as its own row rather than being silently converted).

Sign conventions: balances are debit-positive in the trial balance; revenue and deferred
revenue are shown credit-positive (what a reader expects of them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from syncline.ledger.accounts import Account, AccountType, ChartOfAccounts
from syncline.ledger.fx import functional_amount
from syncline.ledger.journal import JournalEntry, JournalLine, Side, trial_balance_of
from syncline.ledger.periods import period_of

Cell = str | Decimal


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def as_dicts(self) -> list[dict[str, Cell]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _amount(entity: str, ln: JournalLine,
            functional: Mapping[str, str] | None) -> tuple[str, Decimal]:
    """(currency, debit-positive amount) of a line, in functional currency when asked."""
    money = ln.amount
    if functional is not None and entity in functional:
        converted = functional_amount(ln, functional[entity])
        if converted is not None:
            money = converted
    return money.currency, (money.amount if ln.side is Side.DEBIT else -money.amount)


def _account(charts: Mapping[str, ChartOfAccounts], entity: str, code: str) -> Account | None:
    chart = charts.get(entity)
    return chart.by_code(code) if chart else None


def service_line_of(account: Account | None, ln: JournalLine) -> str:
    """The line's ``service_line`` dimension, else the ``revenue:<line>`` role's suffix."""
    dim = dict(ln.dimensions).get("service_line")
    if dim:
        return dim
    if account is not None and account.role.startswith("revenue:"):
        return account.role.split(":", 1)[1]
    return ""


# --- trial balance -------------------------------------------------------------------------


def trial_balance_table(
    entries: Iterable[JournalEntry], charts: Mapping[str, ChartOfAccounts] | None = None
) -> Table:
    rows = []
    for r in trial_balance_of(entries).rows:
        account = _account(charts or {}, r.entity_id, r.account)
        rows.append((r.entity_id, r.account, account.name if account else "", r.currency,
                     r.debit, r.credit, r.balance))
    return Table("Trial balance",
                 ("entity", "account", "name", "currency", "debit", "credit", "balance"),
                 tuple(rows))


# --- revenue waterfall ---------------------------------------------------------------------


def revenue_waterfall(
    entries: Iterable[JournalEntry],
    charts: Mapping[str, ChartOfAccounts],
    periods: Sequence[str],
    *,
    by: str = "service_line",
    functional: Mapping[str, str] | None = None,
) -> Table:
    """Revenue recognized per period (columns), per entity, group and currency (rows).

    ``by`` is ``"service_line"`` or the name of a line dimension (``"contract"``,
    ``"project"``, ``"customer"``…). Revenue = credits − debits on revenue-type accounts.
    """
    wanted = set(periods)
    cells: dict[tuple[str, str, str], dict[str, Decimal]] = defaultdict(
        lambda: defaultdict(Decimal))
    for entry in entries:
        period = period_of(entry.posting_date)
        if period not in wanted:
            continue
        for ln in entry.lines:
            account = _account(charts, entry.entity_id, ln.account)
            if account is None or account.type is not AccountType.REVENUE:
                continue
            group = (service_line_of(account, ln) if by == "service_line"
                     else dict(ln.dimensions).get(by, ""))
            currency, amount = _amount(entry.entity_id, ln, functional)
            cells[(entry.entity_id, group, currency)][period] -= amount
    rows: list[tuple[Cell, ...]] = []
    for key in sorted(cells):
        values = [cells[key].get(p, Decimal(0)) for p in periods]
        rows.append((*key, *values, sum(values, Decimal(0))))
    return Table("Revenue waterfall", ("entity", by, "currency", *periods, "total"),
                 tuple(rows))


# --- deferred revenue roll-forward ---------------------------------------------------------


def deferred_revenue_rollforward(
    entries: Iterable[JournalEntry],
    charts: Mapping[str, ChartOfAccounts],
    periods: Sequence[str],
    *,
    role: str = "contract_liability",
    functional: Mapping[str, str] | None = None,
) -> Table:
    """Per entity, currency and period: opening, additions (credits), releases (debits),
    closing — credit-positive; closing of one period is the opening of the next."""
    ordered = sorted(periods)
    if not ordered:
        return Table("Deferred revenue roll-forward", (), ())
    first = ordered[0]
    opening: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    moves: dict[tuple[str, str], dict[str, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [Decimal(0), Decimal(0)]))
    for entry in entries:
        chart = charts.get(entry.entity_id)
        if chart is None:
            continue
        code = chart.code(role)
        period = period_of(entry.posting_date)
        for ln in entry.lines:
            if ln.account != code:
                continue
            currency, amount = _amount(entry.entity_id, ln, functional)
            key = (entry.entity_id, currency)
            if period < first:
                opening[key] -= amount
            elif period in ordered:
                moves[key][period][0 if ln.side is Side.CREDIT else 1] += abs(amount)
    rows = []
    for key in sorted(set(opening) | set(moves)):
        balance = opening.get(key, Decimal(0))
        for period in ordered:
            added, released = moves[key].get(period, [Decimal(0), Decimal(0)])
            closing = balance + added - released
            rows.append((key[0], key[1], period, balance, added, released, closing))
            balance = closing
    return Table("Deferred revenue roll-forward",
                 ("entity", "currency", "period", "opening", "additions", "releases",
                  "closing"), tuple(rows))


# --- WIP / unbilled aging ------------------------------------------------------------------


def unbilled_aging(
    entries: Iterable[JournalEntry],
    charts: Mapping[str, ChartOfAccounts],
    as_of: date,
    *,
    roles: Sequence[str] = ("unbilled_receivable", "wip"),
    by: str = "project",
    buckets: Sequence[int] = (30, 60, 90),
    functional: Mapping[str, str] | None = None,
) -> Table:
    """Open unbilled / WIP balances by age, first in first out.

    Per entity, role, ``by`` dimension and currency, debits open layers dated by their entry;
    credits relieve the oldest layers first. What remains at ``as_of`` is aged in days into
    ``0-30``, ``31-60``, ``61-90``, ``90+`` (for the default buckets). A credit beyond every
    open layer is shown as a negative amount in the first bucket.
    """
    layers: dict[tuple[str, str, str, str], list[tuple[date, Decimal]]] = defaultdict(list)
    over: dict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
    for entry in sorted(entries, key=lambda e: e.posting_date):
        if entry.posting_date > as_of:
            continue
        chart = charts.get(entry.entity_id)
        if chart is None:
            continue
        codes = {chart.code(r): r for r in roles if _has_role(chart, r)}
        for ln in entry.lines:
            role = codes.get(ln.account)
            if role is None:
                continue
            currency, amount = _amount(entry.entity_id, ln, functional)
            key = (entry.entity_id, role, dict(ln.dimensions).get(by, ""), currency)
            if amount > 0:
                layers[key].append((entry.posting_date, amount))
                continue
            left = -amount
            queue = layers[key]
            while left > 0 and queue:
                opened, open_amount = queue[0]
                take = min(left, open_amount)
                left -= take
                if take == open_amount:
                    queue.pop(0)
                else:
                    queue[0] = (opened, open_amount - take)
            over[key] -= left
    labels = _bucket_labels(buckets)
    rows: list[tuple[Cell, ...]] = []
    for key in sorted(set(layers) | set(over)):
        sums = [Decimal(0)] * len(labels)
        sums[0] += over.get(key, Decimal(0))
        for opened, amount in layers[key]:
            age = (as_of - opened).days
            index = next((i for i, limit in enumerate(buckets) if age <= limit), len(buckets))
            sums[index] += amount
        total = sum(sums, Decimal(0))
        if total == 0 and not any(sums):
            continue
        rows.append((*key, *sums, total))
    return Table(f"WIP / unbilled aging at {as_of.isoformat()}",
                 ("entity", "role", by, "currency", *labels, "total"), tuple(rows))


def _has_role(chart: ChartOfAccounts, role: str) -> bool:
    return any(a.role == role for a in chart.accounts)


def _bucket_labels(buckets: Sequence[int]) -> tuple[str, ...]:
    labels, low = [], 0
    for limit in buckets:
        labels.append(f"{low}-{limit}")
        low = limit + 1
    labels.append(f"{buckets[-1]}+" if buckets else "all")
    return tuple(labels)


# --- margin --------------------------------------------------------------------------------


def margin(
    entries: Iterable[JournalEntry],
    charts: Mapping[str, ChartOfAccounts],
    *,
    by: str = "project",
    cost_roles: Sequence[str] = ("labor_cost", "intercompany_cost"),
    functional: Mapping[str, str] | None = None,
) -> Table:
    """Revenue, cost, margin and margin % per entity, ``by`` and currency.

    ``by`` is ``"project"`` (the line dimension) or ``"service_line"`` (the dimension, else
    the revenue role's service line; cost lines need the ``service_line`` dimension, else
    they group under ""). Revenue = credits − debits on revenue-type accounts;
    cost = debits − credits on ``cost_roles``. Margin % = margin / revenue × 100, one decimal,
    blank when there is no revenue.
    """
    revenue: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    cost: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        for ln in entry.lines:
            account = _account(charts, entry.entity_id, ln.account)
            if account is None:
                continue
            is_revenue = account.type is AccountType.REVENUE
            if not is_revenue and account.role not in cost_roles:
                continue
            group = (service_line_of(account, ln) if by == "service_line"
                     else dict(ln.dimensions).get(by, ""))
            currency, amount = _amount(entry.entity_id, ln, functional)
            key = (entry.entity_id, group, currency)
            if is_revenue:
                revenue[key] -= amount
            else:
                cost[key] += amount
    rows = []
    for key in sorted(set(revenue) | set(cost)):
        r, c = revenue.get(key, Decimal(0)), cost.get(key, Decimal(0))
        m = r - c
        pct: Cell = ((m * 100 / r).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
                     if r != 0 else "")
        rows.append((*key, r, c, m, pct))
    return Table(f"Margin by {by}", ("entity", by, "currency", "revenue", "cost", "margin",
                                     "margin_pct"), tuple(rows))
