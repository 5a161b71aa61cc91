"""Rules from plain configuration: checked against the events Syncline posts and the
charts, parsed from dicts, and laid over the base rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from syncline.ledger.accounts import ChartOfAccounts, UnknownAccountRole
from syncline.ledger.journal import Side
from syncline.ledger.posting.apply import _placeholders
from syncline.ledger.posting.catalog import DEFAULT_RULES, SYSTEM_EVENTS
from syncline.ledger.posting.model import PostingError, PostingRule, PostingRules, TemplateLine


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
