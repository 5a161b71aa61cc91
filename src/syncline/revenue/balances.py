"""Contract balances (asset, liability, receivable), remaining performance obligations and
journal entries, all derived from the schedule and the billing facts.

One net position per contract (606-10-45-1): revenue recognised less consideration received
or unconditionally receivable; positive is a contract asset, negative a contract liability.
A receivable exists once the right to consideration is unconditional (45-4); a cancellable
invoice creates none until paid (45-2). Hence, at any date,
``revenue = receivable + cash + contract_asset - contract_liability``, and the journal entry
between two dates is the movement of each of these, balanced by construction.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from syncline.ledger.journal import JournalEntry, JournalLine, Side, line
from syncline.revenue.model import MethodKind
from syncline.revenue.schedule.result import ScheduleResult
from syncline.revenue.units import money, to_units

ROLE_REVENUE = "revenue"
ROLE_CONTRACT_ASSET = "contract_asset"  # unbilled receivable
ROLE_CONTRACT_LIABILITY = "contract_liability"  # deferred revenue
ROLE_RECEIVABLE = "accounts_receivable"
ROLE_CASH = "cash"


@dataclass(frozen=True, slots=True)
class ContractBalance:
    date: date
    revenue: int  # cumulative revenue recognised
    consideration: int  # received or unconditionally receivable
    receivable: int
    cash: int
    contract_asset: int
    contract_liability: int


def _revenue_at(result: ScheduleResult, ordinal: int) -> dict[str, int]:
    ends = [p.end.toordinal() for p in result.periods]
    k = bisect_right(ends, ordinal) - 1
    if k < 0:
        return {ln.obligation_id: 0 for ln in result.obligations}
    return {ln.obligation_id: ln.cumulative[k] for ln in result.obligations}


def balance_at(result: ScheduleResult, when: date) -> ContractBalance:
    c = result.source
    cur = result.currency
    d = when.toordinal()
    paid: dict[str, int] = {}
    unapplied = 0
    inv_ids = {i.id for i in c.invoices}
    for p in c.payments:
        if p.date.toordinal() <= d:
            units = to_units(p.amount, cur, f"payments[{p.invoice_id}].amount")
            if p.invoice_id in inv_ids:
                paid[p.invoice_id] = paid.get(p.invoice_id, 0) + units
            else:
                unapplied += units
    consideration, receivable = unapplied, 0
    for inv in c.invoices:
        amt = to_units(inv.amount, cur, f"invoices[{inv.id}].amount")
        start = (inv.unconditional_from or inv.date).toordinal()
        uncond = amt if (not inv.cancellable and start <= d and inv.date.toordinal() <= d) else 0
        got = paid.get(inv.id, 0)
        # a credit note (a negative invoice) reduces what is receivable once it is issued
        rec = max(uncond, got) if amt >= 0 else uncond
        consideration += rec
        receivable += rec - got
    cash = unapplied + sum(paid.values())
    revenue = sum(_revenue_at(result, d).values())
    net = revenue - consideration
    return ContractBalance(when, revenue, consideration, receivable, cash, max(net, 0),
                           max(-net, 0))


def balances_by_period(result: ScheduleResult) -> tuple[ContractBalance, ...]:
    return tuple(balance_at(result, p.end) for p in result.periods[: result.as_of_index + 1])


# --- remaining performance obligations -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RpoLine:
    obligation_id: str
    remaining: int
    buckets: tuple[int, ...]
    expedient: str  # "" or the practical expedient that allows leaving it out


@dataclass(frozen=True, slots=True)
class Rpo:
    as_of: date
    bucket_labels: tuple[str, ...]
    lines: tuple[RpoLine, ...]

    @property
    def total(self) -> int:
        return sum(ln.remaining for ln in self.lines)

    @property
    def disclosed(self) -> int:
        """RPO less the amounts a practical expedient allows to leave out (flagged)."""
        return sum(ln.remaining for ln in self.lines if not ln.expedient)

    def bucket_totals(self, disclosed_only: bool = False) -> tuple[int, ...]:
        out = [0] * len(self.bucket_labels)
        for ln in self.lines:
            if disclosed_only and ln.expedient:
                continue
            for i, v in enumerate(ln.buckets):
                out[i] += v
        return tuple(out)


def _labels(edges: Sequence[int]) -> tuple[str, ...]:
    out, lo = [], 1
    for e in edges:
        out.append(f"{lo}-{e} months")
        lo = e + 1
    out.append(f"after {edges[-1]} months" if edges else "all")
    return tuple(out)


def remaining_obligations(result: ScheduleResult) -> Rpo:
    policy = result.policy
    edges = policy.rpo_buckets_months
    labels = _labels(edges)
    k0 = result.as_of_index
    lines = []
    for ln in result.obligations:
        cum0 = ln.cumulative[k0] if k0 >= 0 else 0
        alloc = ln.allocated[-1]  # the allocation as known at as_of, to completion
        remaining = alloc - cum0
        buckets = [0] * len(labels)

        def bucket(months_ahead: int) -> int:
            for i, e in enumerate(edges):
                if months_ahead <= e:
                    return i
            return len(edges)

        placed = 0
        rev = ln.revenue
        for k in range(max(k0 + 1, 0), len(result.periods)):
            if rev[k] and placed + rev[k] <= remaining:
                buckets[bucket(k - k0)] += rev[k]
                placed += rev[k]
        rest = remaining - placed
        if rest:
            ahead = (ln.end.year - result.as_of.year) * 12 + ln.end.month - result.as_of.month
            buckets[bucket(max(ahead, 1))] += rest
        expedient = ""
        if ln.method is MethodKind.RIGHT_TO_INVOICE and policy.rpo_expedient_right_to_invoice:
            expedient = "right to invoice (606-10-50-14(b))"
        elif policy.rpo_expedient_one_year and (ln.end - ln.start).days < 366:
            expedient = "original expected duration one year or less (606-10-50-14(a))"
        lines.append(RpoLine(ln.obligation_id, remaining, tuple(buckets), expedient))
    return Rpo(result.as_of, labels, tuple(lines))


# --- journal entries -----------------------------------------------------------------------


def _mover(lines: list[JournalLine], cur: str) -> Callable[..., None]:
    def move(role: str, delta: int, debit_normal: bool, memo: str = "") -> None:
        if delta == 0:
            return
        side = Side.DEBIT if (delta > 0) == debit_normal else Side.CREDIT
        lines.append(line(role, side, money(abs(delta), cur), memo))

    return move


def journal_entries(result: ScheduleResult, entity_id: str) -> tuple[JournalEntry, ...]:
    """Balanced entries at each billing event and period end up to ``as_of``.

    Accounts are roles (``revenue``, ``contract_asset``, ``contract_liability``,
    ``accounts_receivable``, ``cash``); the ledger maps roles to its chart of accounts.
    Revenue lines carry the obligation in ``memo`` and in the ``obligation`` dimension.
    """
    c = result.source
    a = result.as_of.toordinal()
    days = {p.end.toordinal() for p in result.periods[: result.as_of_index + 1]}
    days |= {(i.unconditional_from or i.date).toordinal() for i in c.invoices}
    days |= {i.date.toordinal() for i in c.invoices}
    days |= {p.date.toordinal() for p in c.payments}
    cur = result.currency
    prev = ContractBalance(c.start, 0, 0, 0, 0, 0, 0)
    prev_rev = {ln.obligation_id: 0 for ln in result.obligations}
    out = []
    for d in sorted(x for x in days if x <= a):
        when = date.fromordinal(d)
        bal = balance_at(result, when)
        rev = _revenue_at(result, d)
        lines: list[JournalLine] = []

        move = _mover(lines, cur)
        move(ROLE_RECEIVABLE, bal.receivable - prev.receivable, True)
        move(ROLE_CASH, bal.cash - prev.cash, True)
        move(ROLE_CONTRACT_ASSET, bal.contract_asset - prev.contract_asset, True)
        move(ROLE_CONTRACT_LIABILITY, bal.contract_liability - prev.contract_liability, False)
        for oid, v in rev.items():
            move(ROLE_REVENUE, v - prev_rev[oid], False, f"obligation {oid}")
        if lines:
            lines = [
                JournalLine(ln.account, ln.side, ln.amount, memo=ln.memo,
                            dimensions=(("contract", c.id),
                                        *((("obligation", ln.memo.split(" ", 1)[1]),)
                                          if ln.memo else ())))
                for ln in lines
            ]
            out.append(JournalEntry(
                entity_id=entity_id, posting_date=when,
                description=f"Revenue contract {c.id}: movements to {when.isoformat()}",
                lines=tuple(lines), source_type="revenue", source_id=f"{c.id}:{when.isoformat()}",
                metadata=(("contract_id", c.id), ("as_of", result.as_of.isoformat())),
            ))
        prev, prev_rev = bal, rev
    return tuple(out)
