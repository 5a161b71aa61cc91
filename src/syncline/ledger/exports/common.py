"""What the exporters share: the result shape, entry splitting and exact JSON numbers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Generic, TypeVar

from syncline.ledger.journal import JournalLine, Side
from syncline.ledger.money import Money

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ExportError:
    """An entry (or the whole export) that could not be exported, and why."""

    entity_id: str
    source_id: str
    problem: str
    message: str


@dataclass(frozen=True, slots=True)
class Exported(Generic[T]):
    """The exported content (for the entries that could be exported), the errors, and notes
    that do not make the export fail (e.g. "no mapping: Syncline's own codes")."""

    content: T
    errors: tuple[ExportError, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class Payload:
    """One API request body for one legal entity's ledger, traced to its Syncline entry."""

    entity_id: str
    source_id: str
    body: dict[str, object]


def uniform_rate(lines: Sequence[JournalLine]) -> Decimal | None:
    """The FX rate shared by every foreign line, or ``None`` (none, or several)."""
    rates = {ln.fx_rate for ln in lines if ln.fx_rate is not None}
    return rates.pop() if len(rates) == 1 else None


def by_currency(lines: Sequence[JournalLine]) -> dict[str, tuple[JournalLine, ...]]:
    """Lines grouped by transaction currency, in first-seen order (each group balances)."""
    out: dict[str, list[JournalLine]] = {}
    for ln in lines:
        out.setdefault(ln.amount.currency, []).append(ln)
    return {c: tuple(v) for c, v in out.items()}


def split_entry(
    lines: Sequence[JournalLine], max_lines: int
) -> tuple[tuple[JournalLine, ...], ...]:
    """Cut one currency's balanced lines into balanced groups of at most ``max_lines``.

    The rule: zero-amount lines are dropped; debits and credits are matched in their
    original order (first debit against first credit, the smaller amount exhausting its
    line, the larger line's remainder matched against the next line of the other side), and
    each matched pair is assigned to the current group while the group's distinct lines stay
    within ``max_lines``, otherwise a new group starts. A line whose matched parts fall into
    two groups is split there into two lines with the same account, memo and dimensions
    (functional amounts are split in proportion, largest remainder). Within a group, lines
    keep their original order. Every group balances because it holds whole matched pairs;
    an entry that already fits is returned as one group, unchanged.
    """
    if max_lines < 2:
        raise ValueError("a journal entry needs room for at least two lines")
    live = [(i, ln) for i, ln in enumerate(lines) if not ln.amount.is_zero]
    if len(live) <= max_lines:
        return (tuple(ln for _, ln in live),) if live else ()
    debits = [(i, ln) for i, ln in live if ln.side is Side.DEBIT]
    credits = [(i, ln) for i, ln in live if ln.side is Side.CREDIT]
    # pieces: (original index, amount taken) in matching order, grouped
    groups: list[dict[int, Decimal]] = [{}]
    di = ci = 0
    d_left = debits[0][1].amount.amount if debits else Decimal(0)
    c_left = credits[0][1].amount.amount if credits else Decimal(0)
    while di < len(debits) and ci < len(credits):
        take = min(d_left, c_left)
        d_idx, c_idx = debits[di][0], credits[ci][0]
        group = groups[-1]
        new = (d_idx not in group) + (c_idx not in group)
        if len(group) + new > max_lines:
            group = {}
            groups.append(group)
        group[d_idx] = group.get(d_idx, Decimal(0)) + take
        group[c_idx] = group.get(c_idx, Decimal(0)) + take
        d_left -= take
        c_left -= take
        if d_left == 0:
            di += 1
            d_left = debits[di][1].amount.amount if di < len(debits) else Decimal(0)
        if c_left == 0:
            ci += 1
            c_left = credits[ci][1].amount.amount if ci < len(credits) else Decimal(0)
    if di < len(debits) or ci < len(credits):
        raise ValueError("lines do not balance: cannot split them into balanced entries")
    return tuple(_materialize(lines, g) for g in groups if g)


def _materialize(
    lines: Sequence[JournalLine], group: dict[int, Decimal]
) -> tuple[JournalLine, ...]:
    out: list[JournalLine] = []
    for idx in sorted(group):
        original = lines[idx]
        part = group[idx]
        if part == original.amount.amount:
            out.append(original)
            continue
        functional = original.functional
        if functional is not None:
            # the part's share of the functional amount, rounded half up (a split line's two
            # parts then differ from the whole by at most one minor unit between them)
            functional = Money(functional.amount * part / original.amount.amount,
                               functional.currency).rounded()
        out.append(replace(original, amount=Money(part, original.amount.currency),
                           functional=functional))
    return tuple(out)


def dumps_json(payload: object) -> str:
    """JSON text with ``Decimal`` written as exact JSON numbers (never via float)."""

    def enc(value: object) -> str:
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))}: {enc(v)}"
                                   for k, v in value.items()) + "}"
        if isinstance(value, list | tuple):
            return "[" + ", ".join(enc(v) for v in value) + "]"
        if isinstance(value, float):
            raise TypeError("payloads carry Decimal amounts, never floats")
        return json.dumps(value)

    return enc(payload)
