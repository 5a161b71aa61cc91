"""Posting rules as data: which business event produces which journal template.

A rule names an event kind and lists template lines ``(role, side, amount key)``. Posting a
rule looks each role up in the entity's chart (so a firm maps events to its own accounts by
editing the chart or the rules, never code) and takes each amount from the ``amounts``
mapping by key. Roles, memos and the description may hold ``{placeholders}`` filled from
``params`` (plus ``source_id`` and ``entity_id``) — e.g. ``revenue:{service_line}``.

Conventions, stated once:
- a line whose amount is zero is left out; a negative amount posts on the opposite side
  (so a signed amount key — the revenue true-up — needs no second rule);
- a missing amount key, an unmapped role, a missing placeholder or an entry that does not
  balance is a ``PostingError`` value (nothing is raised for bad data), naming the role;
- when ``functional_currency`` is given, functional amounts are added. If the rule marks one
  line ``balancing`` (the receivable of an invoice), every *other* line is converted on its
  own (round half-up) and the balancing line takes the functional amount that balances them
  (the billing rule: the receivable is the sum of its converted credits). Otherwise each
  side's total is converted once and split over its lines (``ledger.fx.with_functional``).

``SYSTEM_RULES`` are the rules Syncline posts, one per event in ``SYSTEM_EVENTS`` (which
says what amount keys and params each event gives, and what posts it). ``REFERENCE_RULES``
are not posted by anything in Syncline (an approval-time posting model kept as a worked
example, used by the export tests); ``DEFAULT_RULES`` is ``SYSTEM_RULES``.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from syncline.ledger.accounts import ChartOfAccounts, UnknownAccountRole
from syncline.ledger.fx import FxError, FxRate, convert, functional_amount, with_functional
from syncline.ledger.journal import JournalEntry, JournalLine, Side, UnbalancedEntry
from syncline.ledger.money import Money


@dataclass(frozen=True, slots=True)
class TemplateLine:
    role: str  # chart role, may hold {placeholders}: "revenue:{service_line}"
    side: Side
    amount: str  # key into the amounts given to ``post``
    memo: str = ""  # may hold {placeholders}
    balancing: bool = False  # FX: takes the functional amount that balances the others


@dataclass(frozen=True, slots=True)
class PostingRule:
    event: str  # business event kind, e.g. "billing.invoice_released"
    lines: tuple[TemplateLine, ...]
    description: str = ""  # may hold {placeholders}
    source_type: str = ""  # defaults to the event kind
    entity: str = ""  # "" for every entity; else this legal entity only (it wins there)


@dataclass(frozen=True, slots=True)
class PostingError:
    """A rule that could not produce a balanced entry, located by event, source and role."""

    event: str
    source_id: str
    problem: str  # "no_rule" | "missing_amount" | "unmapped_role" | "missing_param" | …
    message: str
    role: str = ""  # the role concerned, when there is one
    entity_id: str = ""
    source_type: str = ""  # the source type the entry would have had


class PostingFailed(ValueError):
    """Raised by the ``*_entry`` conveniences when a rule cannot post (``error`` says why)."""

    def __init__(self, error: PostingError) -> None:
        self.error = error
        super().__init__(f"{error.event} {error.source_id}: {error.message}")


def entry_or_raise(made: JournalEntry | PostingError) -> JournalEntry:
    if isinstance(made, PostingError):
        raise PostingFailed(made)
    return made


@dataclass(frozen=True, slots=True)
class PostingRules:
    rules: tuple[PostingRule, ...]

    def for_event(self, event: str, entity_id: str = "") -> PostingRule | None:
        """The rule of ``event`` for ``entity_id``: its own rule if it has one, else the
        rule for every entity."""
        general: PostingRule | None = None
        for r in self.rules:
            if r.event != event:
                continue
            if entity_id and r.entity == entity_id:
                return r
            if not r.entity and general is None:
                general = r
        return general

    def rule(self, event: str, entity_id: str = "") -> PostingRule:
        """The rule of a system event (always present: configuration only replaces)."""
        found = self.for_event(event, entity_id)
        if found is None:
            raise KeyError(f"no posting rule for event {event!r}")
        return found


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What an event gives its rule: amount keys, params, and what posts it."""

    event: str
    source_type: str  # of its entries: fixed, the ledger reads them back by it
    amounts: tuple[str, ...]
    params: tuple[str, ...]
    posted_by: str
    signed: bool = False  # amounts may be negative (post on the opposite side)


D, C = Side.DEBIT, Side.CREDIT

INVOICE_RELEASED = "billing.invoice_released"
CREDIT_NOTE_ISSUED = "billing.credit_note_issued"
LABOR_COST = "billing.labor_cost"
REVENUE_TRUE_UP = "revenue.true_up"
TIME_ACCRUED = "close.time_accrued"

SYSTEM_EVENTS: Mapping[str, EventSpec] = {s.event: s for s in (
    EventSpec(INVOICE_RELEASED, "invoice", ("total", "revenue", "deferred", "tax"),
              ("number", "contract", "customer", "service_line", "tax_code"),
              "billing run, invoice release (services/billing/run.py, billing/journals.py)"),
    EventSpec(CREDIT_NOTE_ISSUED, "credit_note", ("total", "revenue", "deferred", "tax"),
              ("number", "invoice", "contract", "customer", "service_line", "tax_code"),
              "billing run, credit notes (services/billing/run.py, billing/journals.py)"),
    EventSpec(LABOR_COST, "labor_cost", ("cost",), ("period", "currency"),
              "billing run, labor cost of approved time at HR cost (billing/costs.py)"),
    EventSpec(REVENUE_TRUE_UP, "revenue", ("unbilled", "liability", "revenue"),
              ("contract", "service_line", "as_of", "period"),
              "revenue recognition (services/revenue/sync.py)", signed=True),
    EventSpec(TIME_ACCRUED, "accrual", ("amount",), ("period", "service_line", "currency"),
              "close, accrual of approved unbilled time (services/close/accrual.py)"),
)}
"""The events Syncline posts. Placeholders ``source_id`` and ``entity_id`` always exist."""

SYSTEM_RULES = PostingRules((
    PostingRule(INVOICE_RELEASED, (
        TemplateLine("accounts_receivable", D, "total", "invoice {number}", balancing=True),
        TemplateLine("revenue:{service_line}", C, "revenue", "invoice {number} {contract}"),
        TemplateLine("contract_liability", C, "deferred",
                     "invoice {number} {contract} billed in advance"),
        TemplateLine("tax_payable", C, "tax", "{tax_code} on {number}"),
    ), "Invoice {number} to {customer}", "invoice"),
    PostingRule(CREDIT_NOTE_ISSUED, (
        TemplateLine("accounts_receivable", C, "total", "credit note {number} on {invoice}",
                     balancing=True),
        TemplateLine("revenue:{service_line}", D, "revenue", "invoice {number} {contract}"),
        TemplateLine("contract_liability", D, "deferred",
                     "invoice {number} {contract} billed in advance"),
        TemplateLine("tax_payable", D, "tax", "{tax_code} on {number}"),
    ), "Credit note {number} on invoice {invoice}", "credit_note"),
    PostingRule(LABOR_COST, (
        TemplateLine("labor_cost", D, "cost", "approved time {period}"),
        TemplateLine("accrued_payroll", C, "cost", "approved time {period}"),
    ), "Labor cost of approved time {period}", "labor_cost"),
    PostingRule(REVENUE_TRUE_UP, (
        TemplateLine("unbilled_receivable", D, "unbilled", "contract {contract} to {as_of}"),
        TemplateLine("contract_liability", D, "liability", "contract {contract} to {as_of}"),
        TemplateLine("revenue:{service_line}", C, "revenue", "contract {contract} to {as_of}"),
    ), "Revenue recognized, contract {contract}, to {as_of}", "revenue"),
    PostingRule(TIME_ACCRUED, (
        TemplateLine("unbilled_receivable", D, "amount", "approved, not yet invoiced"),
        TemplateLine("revenue:{service_line}", C, "amount", "approved, not yet invoiced"),
    ), "Accrual of approved unbilled time {period}", "accrual"),
))
"""The rules Syncline posts (see ``SYSTEM_EVENTS``); a firm replaces any of them from its
ledger configuration (``rules_from_config``)."""

REFERENCE_RULES = PostingRules((
    PostingRule("time.approved", (
        TemplateLine("labor_cost", D, "cost", "approved time at cost"),
        TemplateLine("accrued_payroll", C, "cost", "approved time at cost"),
        TemplateLine("unbilled_receivable", D, "revenue", "approved time, right to invoice"),
        TemplateLine("revenue:{service_line}", C, "revenue", "approved time, right to invoice"),
    ), "Approved time {source_id}"),
    PostingRule("invoice.released", (
        TemplateLine("accounts_receivable", D, "total", "invoice total"),
        TemplateLine("unbilled_receivable", C, "unbilled", "billed from contract asset"),
        TemplateLine("contract_liability", C, "deferred", "billed in advance"),
        TemplateLine("tax_payable", C, "tax", "tax on invoice"),
    ), "Invoice {source_id}"),
    PostingRule("payment.received", (
        TemplateLine("cash", D, "amount", "payment"),
        TemplateLine("accounts_receivable", C, "amount", "payment"),
    ), "Payment {source_id}"),
))
"""NOT POSTED by Syncline: an approval-time model (revenue at approval, invoice out of the
contract asset, payments) kept as a worked example for ``post_event`` and the export tests.
The configuration refuses rules for these events (they would change nothing)."""

DEFAULT_RULES = SYSTEM_RULES
"""The rules the system starts from: exactly what Syncline posts (``REFERENCE_RULES`` are
separate and never posted)."""


def source_type_of(rule: PostingRule) -> str:
    """The source type of the rule's entries: a system event's own (whatever the rule
    says), else the rule's, else the event kind."""
    spec = SYSTEM_EVENTS.get(rule.event)
    return spec.source_type if spec else (rule.source_type or rule.event)


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


def check_rule(rule: PostingRule, charts: Iterable[ChartOfAccounts] = ()) -> tuple[
        PostingError, ...]:
    """What is wrong with ``rule`` before anything is posted: an event Syncline does not
    post, an amount key or placeholder the event does not give, a fixed role that one of
    ``charts`` does not map (roles with placeholders are checked when posting)."""
    errors: list[PostingError] = []

    def error(problem: str, message: str, role: str = "", entity: str = "") -> None:
        errors.append(PostingError(rule.event, "", problem, message, role=role,
                                   entity_id=entity))

    spec = SYSTEM_EVENTS.get(rule.event)
    if spec is None:
        error("not_posted", f"Syncline posts no event {rule.event!r} (a rule for it would "
              f"change nothing); the events it posts are {', '.join(SYSTEM_EVENTS)}")
        return tuple(errors)
    if rule.source_type and rule.source_type != spec.source_type:
        error("fixed_source_type", f"the entries of {rule.event} have source type "
              f"{spec.source_type!r} (the ledger reads them back by it); leave it out")
    known = set(spec.params) | {"source_id", "entity_id"}
    for n, tl in enumerate(rule.lines, 1):
        if tl.amount not in spec.amounts:
            error("unknown_amount", f"line {n} takes amount {tl.amount!r}; {rule.event} "
                  f"gives {', '.join(spec.amounts)}", tl.role)
        for text in (tl.role, tl.memo):
            unknown = _placeholders(text) - known
            if unknown:
                error("unknown_param", f"line {n} uses {sorted(unknown)}; {rule.event} gives "
                      f"{', '.join(sorted(known))}", tl.role)
    unknown = _placeholders(rule.description) - known
    if unknown:
        error("unknown_param", f"the description uses {sorted(unknown)}; {rule.event} gives "
              f"{', '.join(sorted(known))}")
    for chart in charts:
        for tl in rule.lines:
            if _placeholders(tl.role):
                continue
            try:
                chart.for_role(tl.role)
            except UnknownAccountRole:
                where = f"the chart of {chart.entity_id}" if chart.entity_id else "the template"
                error("unmapped_role", f"role {tl.role!r} is mapped by no account in {where}",
                      tl.role, chart.entity_id)
    return tuple(errors)


# --- rules from plain configuration -------------------------------------------------------


def rule_from_dict(data: Mapping[str, object]) -> PostingRule | PostingError:
    """``{event, entity?, description?, source_type?, lines: [{role, side, amount, memo?,
    balancing?}]}`` — ``entity``: the rule is for that legal entity only."""
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
        balancing = raw.get("balancing", False)
        unknown = sorted(set(map(str, raw)) - {"role", "side", "amount", "memo", "balancing"})
        if unknown:
            return PostingError(event, "", "bad_rule", f"line {n} has unknown field(s) {unknown}")
        if not isinstance(balancing, bool):
            return PostingError(event, "", "bad_rule", f"line {n} balancing must be true/false")
        if not isinstance(role, str) or not isinstance(amount, str) or not isinstance(memo, str):
            return PostingError(event, "", "bad_rule",
                                f"line {n} needs role and amount (text)")
        try:
            parsed_side = Side(str(side))
        except ValueError:
            return PostingError(event, "", "bad_rule",
                                f"line {n} side is {side!r}; expected debit or credit")
        lines.append(TemplateLine(role, parsed_side, amount, memo, balancing))
    if sum(tl.balancing for tl in lines) > 1:
        return PostingError(event, "", "bad_rule", "at most one line may be balancing")
    description = data.get("description", "")
    source_type = data.get("source_type", "")
    entity = data.get("entity", "")
    if not isinstance(entity, str):
        return PostingError(event, "", "bad_rule", "entity must be a legal entity code")
    return PostingRule(event, tuple(lines), str(description or ""), str(source_type or ""),
                       entity)


def rules_from_config(
    rows: Iterable[Mapping[str, object]], base: PostingRules | None = DEFAULT_RULES
) -> PostingRules | tuple[PostingError, ...]:
    """Rules from config dicts; a configured rule replaces the base rule of the same event
    (and entity); a rule with an ``entity`` applies to that legal entity only, the rule for
    every entity stays for the others."""
    made = [rule_from_dict(r) for r in rows]
    errors = tuple(m for m in made if isinstance(m, PostingError))
    if errors:
        return errors
    new = [m for m in made if isinstance(m, PostingRule)]
    keys = [(r.event, r.entity) for r in new]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        return tuple(PostingError(e, "", "bad_rule", f"event {e!r} has two rules"
                                  + (f" for entity {n}" if n else "")) for e, n in dupes)
    kept = [r for r in (base.rules if base else ()) if (r.event, r.entity) not in set(keys)]
    return PostingRules(tuple(kept + new))
