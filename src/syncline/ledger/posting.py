"""Posting rules as data: which business event produces which journal template.

A rule names an event kind and lists template lines ``(role, side, amount key)``. Posting a
rule looks each role up in the entity's chart (so a firm maps events to its own accounts by
editing the chart or the rules, never code) and takes each amount from the ``amounts``
mapping by key. Roles may hold ``{placeholders}`` filled from ``params`` — e.g.
``revenue:{service_line}``.

Conventions, stated once:
- a line whose amount is zero is left out; a negative amount posts on the opposite side;
- a missing amount key, an unmapped role, a missing placeholder or an entry that does not
  balance is a ``PostingError`` value (nothing is raised for bad data);
- when ``functional_currency`` is given, functional amounts are added (see ``fx``).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from syncline.ledger.accounts import ChartOfAccounts, UnknownAccountRole
from syncline.ledger.fx import FxError, FxRate, with_functional
from syncline.ledger.journal import JournalEntry, JournalLine, Side, UnbalancedEntry
from syncline.ledger.money import Money


@dataclass(frozen=True, slots=True)
class TemplateLine:
    role: str  # chart role, may hold {placeholders}: "revenue:{service_line}"
    side: Side
    amount: str  # key into the amounts given to ``post``
    memo: str = ""


@dataclass(frozen=True, slots=True)
class PostingRule:
    event: str  # business event kind, e.g. "time.approved"
    lines: tuple[TemplateLine, ...]
    description: str = ""  # may hold {placeholders}
    source_type: str = ""  # defaults to the event kind


@dataclass(frozen=True, slots=True)
class PostingError:
    """A rule that could not produce a balanced entry, located by event and source."""

    event: str
    source_id: str
    problem: str  # "no_rule" | "missing_amount" | "unmapped_role" | "missing_param" | …
    message: str


@dataclass(frozen=True, slots=True)
class PostingRules:
    rules: tuple[PostingRule, ...]

    def for_event(self, event: str) -> PostingRule | None:
        return next((r for r in self.rules if r.event == event), None)


D, C = Side.DEBIT, Side.CREDIT

DEFAULT_RULES = PostingRules((
    PostingRule("time.approved", (
        TemplateLine("labor_cost", D, "cost", "approved time at cost"),
        TemplateLine("accrued_payroll", C, "cost", "approved time at cost"),
        TemplateLine("unbilled_receivable", D, "revenue", "approved time, right to invoice"),
        TemplateLine("revenue:{service_line}", C, "revenue", "approved time, right to invoice"),
    ), "Approved time {source_id}"),
    PostingRule("expense.approved", (
        TemplateLine("unbilled_receivable", D, "billable", "rebillable expense"),
        TemplateLine("expense_recovery", C, "billable", "rebillable expense"),
    ), "Approved expense {source_id}"),
    PostingRule("milestone.completed", (
        TemplateLine("unbilled_receivable", D, "revenue", "milestone completed"),
        TemplateLine("revenue:{service_line}", C, "revenue", "milestone completed"),
    ), "Milestone {source_id}"),
    PostingRule("invoice.released", (
        TemplateLine("accounts_receivable", D, "total", "invoice total"),
        TemplateLine("unbilled_receivable", C, "unbilled", "billed from contract asset"),
        TemplateLine("contract_liability", C, "deferred", "billed in advance"),
        TemplateLine("tax_payable", C, "tax", "tax on invoice"),
    ), "Invoice {source_id}"),
    PostingRule("revenue.recognized", (
        TemplateLine("contract_liability", D, "amount", "recognized from deferred"),
        TemplateLine("revenue:{service_line}", C, "amount", "recognized from deferred"),
    ), "Revenue recognized {source_id}"),
    PostingRule("payment.received", (
        TemplateLine("cash", D, "amount", "payment"),
        TemplateLine("accounts_receivable", C, "amount", "payment"),
    ), "Payment {source_id}"),
))
"""A starting set; a firm replaces or extends it from configuration (``rules_from_config``)."""


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


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
) -> JournalEntry | PostingError:
    """The journal entry ``rule`` makes from ``amounts`` in ``entity_id``'s chart."""
    values = {"source_id": source_id, "entity_id": entity_id, **(params or {})}

    def error(problem: str, message: str) -> PostingError:
        return PostingError(rule.event, source_id, problem, message)

    lines: list[JournalLine] = []
    for tl in rule.lines:
        missing = _placeholders(tl.role) - set(values)
        if missing:
            return error("missing_param", f"role {tl.role!r} needs {sorted(missing)}")
        role = tl.role.format_map(values)
        if tl.amount not in amounts:
            return error("missing_amount", f"no amount {tl.amount!r} for role {role!r}")
        money = amounts[tl.amount].rounded()
        if money.is_zero:
            continue
        try:
            account = chart.code(role)
        except UnknownAccountRole:
            return error("unmapped_role",
                         f"the chart of {entity_id} maps no account to role {role!r}")
        side = tl.side if money.amount > 0 else (C if tl.side is D else D)
        lines.append(JournalLine(account, side, Money(abs(money.amount), money.currency),
                                 memo=tl.memo, dimensions=dimensions))
    missing = _placeholders(rule.description) - set(values)
    if missing:
        return error("missing_param", f"description needs {sorted(missing)}")
    description = rule.description.format_map(values) if rule.description else rule.event
    try:
        entry = JournalEntry(
            entity_id=entity_id,
            posting_date=posting_date,
            description=description,
            lines=tuple(lines),
            source_type=rule.source_type or rule.event,
            source_id=source_id,
            metadata=metadata,
        )
    except UnbalancedEntry as exc:
        return error("unbalanced", str(exc))
    if functional_currency is not None:
        made = with_functional(entry, functional_currency, rates or {})
        if isinstance(made, FxError):
            return error(made.problem, made.message)
        entry = made
    return entry


def post_event(
    rules: PostingRules, event: str, amounts: Mapping[str, Money], **kwargs: Any
) -> JournalEntry | PostingError:
    """Find the rule for ``event`` and ``post`` it (same keyword arguments as ``post``)."""
    rule = rules.for_event(event)
    if rule is None:
        return PostingError(event, str(kwargs.get("source_id", "")), "no_rule",
                            f"no posting rule for event {event!r}")
    return post(rule, amounts, **kwargs)


# --- rules from plain configuration -------------------------------------------------------


def rule_from_dict(data: Mapping[str, object]) -> PostingRule | PostingError:
    """``{event, description?, source_type?, lines: [{role, side, amount, memo?}]}``."""
    event = data.get("event")
    if not isinstance(event, str) or not event:
        return PostingError("", "", "bad_rule", "a posting rule needs an event")
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or len(raw_lines) < 2:
        return PostingError(event, "", "bad_rule", "a posting rule needs at least two lines")
    lines: list[TemplateLine] = []
    for n, raw in enumerate(raw_lines, 1):
        if not isinstance(raw, Mapping):
            return PostingError(event, "", "bad_rule", f"line {n} is not a mapping")
        role, side, amount = raw.get("role"), raw.get("side"), raw.get("amount")
        memo = raw.get("memo", "")
        if not isinstance(role, str) or not isinstance(amount, str) or not isinstance(memo, str):
            return PostingError(event, "", "bad_rule",
                                f"line {n} needs role and amount (text)")
        try:
            parsed_side = Side(str(side))
        except ValueError:
            return PostingError(event, "", "bad_rule",
                                f"line {n} side is {side!r}; expected debit or credit")
        lines.append(TemplateLine(role, parsed_side, amount, memo))
    description = data.get("description", "")
    source_type = data.get("source_type", "")
    return PostingRule(event, tuple(lines), str(description or ""), str(source_type or ""))


def rules_from_config(
    rows: Iterable[Mapping[str, object]], base: PostingRules | None = DEFAULT_RULES
) -> PostingRules | tuple[PostingError, ...]:
    """Rules from config dicts; a configured event replaces the base rule of that event."""
    made = [rule_from_dict(r) for r in rows]
    errors = tuple(m for m in made if isinstance(m, PostingError))
    if errors:
        return errors
    new = [m for m in made if isinstance(m, PostingRule)]
    events = [r.event for r in new]
    dupes = sorted({e for e in events if events.count(e) > 1})
    if dupes:
        return tuple(PostingError(e, "", "bad_rule", f"event {e!r} has two rules") for e in dupes)
    kept = [r for r in (base.rules if base else ()) if r.event not in set(events)]
    return PostingRules(tuple(kept + new))
