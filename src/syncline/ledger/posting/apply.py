"""Applying a rule: amounts in, a balanced ``JournalEntry`` (with functional amounts when
asked) or a ``PostingError`` out.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from syncline.ledger.accounts import ChartOfAccounts, UnknownAccountRole
from syncline.ledger.fx import FxError, FxRate, convert, functional_amount, with_functional
from syncline.ledger.journal import JournalEntry, JournalLine, UnbalancedEntry
from syncline.ledger.money import Money
from syncline.ledger.posting.catalog import C, D, source_type_of
from syncline.ledger.posting.model import PostingError, PostingRule, PostingRules


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _functional_by_line(
    entry: JournalEntry, functional_currency: str, rates: Mapping[str, FxRate], balancing: int,
) -> JournalEntry | FxError:
    """Every line but ``balancing`` converted on its own; ``balancing`` balances them."""
    lines = list(entry.lines)
    for i, ln in enumerate(lines):
        if i == balancing or ln.amount.currency == functional_currency:
            continue
        rate = rates.get(ln.amount.currency)
        if rate is None or rate.quote != functional_currency:
            return FxError("missing_rate", f"no {ln.amount.currency}->{functional_currency} "
                           f"rate for entry {entry.source_id}", ln.amount.currency)
        lines[i] = replace(ln, functional=convert(ln.amount, rate), fx_rate=rate.rate,
                           fx_source=rate.source, fx_date=rate.as_of)
    target = lines[balancing]
    net = Decimal(0)  # the others, signed from the balancing line's side
    for i, ln in enumerate(lines):
        if i == balancing:
            continue
        amount = functional_amount(ln, functional_currency)
        assert amount is not None  # converted above or already functional
        net += amount.amount if ln.side is target.side else -amount.amount
    if -net < 0:
        return FxError("unbalanced", f"the balancing line of entry {entry.source_id} would be "
                       "negative in the functional currency")
    if target.amount.currency != functional_currency:
        rate = rates.get(target.amount.currency)
        if rate is None or rate.quote != functional_currency:
            return FxError("missing_rate", f"no {target.amount.currency}->"
                           f"{functional_currency} rate for entry {entry.source_id}",
                           target.amount.currency)
        lines[balancing] = replace(target, functional=Money(-net, functional_currency),
                                   fx_rate=rate.rate, fx_source=rate.source,
                                   fx_date=rate.as_of)
    elif -net != target.amount.amount:
        return FxError("unbalanced", f"entry {entry.source_id} does not balance in "
                       f"{functional_currency}")
    return replace(entry, lines=tuple(lines))


def _format(template: str, values: Mapping[str, str]) -> str | set[str]:
    """``template`` filled from ``values``, or the names it needs that are missing."""
    missing = _placeholders(template) - set(values)
    return missing if missing else template.format_map(values)


def post(
    rule: PostingRule,
    amounts: Mapping[str, Money],
    *,
    chart: ChartOfAccounts,
    entity_id: str,
    posting_date: date,
    source_id: str,
    params: Mapping[str, str] | None = None,
    dimensions: tuple[tuple[str, str], ...] = (),
    functional_currency: str | None = None,
    rates: Mapping[str, FxRate] | None = None,
    metadata: tuple[tuple[str, str], ...] = (),
    reverses: str | None = None,
) -> JournalEntry | PostingError:
    """The journal entry ``rule`` makes from ``amounts`` in ``entity_id``'s chart."""
    values = {"source_id": source_id, "entity_id": entity_id, **(params or {})}
    source_type = source_type_of(rule)

    def error(problem: str, message: str, role: str = "") -> PostingError:
        return PostingError(rule.event, source_id, problem, message, role=role,
                            entity_id=entity_id, source_type=source_type)

    lines: list[JournalLine] = []
    balancing: int | None = None
    for tl in rule.lines:
        role = _format(tl.role, values)
        if isinstance(role, set):
            return error("missing_param", f"role {tl.role!r} needs {sorted(role)}", tl.role)
        memo = _format(tl.memo, values)
        if isinstance(memo, set):
            return error("missing_param", f"memo {tl.memo!r} needs {sorted(memo)}", role)
        if tl.amount not in amounts:
            return error("missing_amount", f"no amount {tl.amount!r} for role {role!r}", role)
        money = amounts[tl.amount].rounded()
        if money.is_zero:
            continue
        try:
            account = chart.code(role)
        except UnknownAccountRole:
            return error("unmapped_role",
                         f"the chart of {entity_id} maps no account to role {role!r}", role)
        side = tl.side if money.amount > 0 else (C if tl.side is D else D)
        if tl.balancing:
            balancing = len(lines)
        lines.append(JournalLine(account, side, Money(abs(money.amount), money.currency),
                                 memo=memo, dimensions=dimensions))
    description = _format(rule.description, values) if rule.description else rule.event
    if isinstance(description, set):
        return error("missing_param", f"description needs {sorted(description)}")
    try:
        entry = JournalEntry(
            entity_id=entity_id,
            posting_date=posting_date,
            description=description,
            lines=tuple(lines),
            source_type=source_type,
            source_id=source_id,
            reverses=reverses,
            metadata=metadata,
        )
    except UnbalancedEntry as exc:
        return error("unbalanced", str(exc))
    if functional_currency is not None:
        made = (_functional_by_line(entry, functional_currency, rates or {}, balancing)
                if balancing is not None
                else with_functional(entry, functional_currency, rates or {}))
        if isinstance(made, FxError):
            return error(made.problem, made.message)
        entry = made
    return entry


def post_event(
    rules: PostingRules, event: str, amounts: Mapping[str, Money], **kwargs: Any
) -> JournalEntry | PostingError:
    """Find the rule for ``event`` (and the entity posted in) and ``post`` it (same keyword
    arguments as ``post``)."""
    rule = rules.for_event(event, str(kwargs.get("entity_id", "")))
    if rule is None:
        return PostingError(event, str(kwargs.get("source_id", "")), "no_rule",
                            f"no posting rule for event {event!r}")
    return post(rule, amounts, **kwargs)
