"""Ledger configuration file (YAML): charts of accounts per entity, posting rules, period
and FX policies — read here, turned into the pure ledger's values.

File shape (see ``config/chart-of-accounts.example.yaml``)::

    template: [{code, name, type, role}, …]        # optional, DEFAULT_TEMPLATE otherwise
    required_roles: [role, …]                      # optional
    entities:
      US01:
        functional_currency: USD
        overrides: {role: {code?, name?, type?} | null, …}
    posting_rules: [{event, description?, lines: [{role, side, amount, memo?}]}]  # optional
    closed_period_policy: refuse | next_open       # optional, refuse
    fx_revaluation: {enabled: true, roles: [accounts_receivable]}                 # optional
    intercompany:                                                                 # optional
      method: cost_plus | rate_card          # cost_plus (default): HR cost rate × (1 + markup)
      markup: "0.10"                         # default cost-plus markup (10 %)
      pairs: [{provider, recipient, markup}] # optional markup per entity pair
      rates: [{role, rate, currency, provider?}]   # rate_card: hourly transfer rate per role

Every problem is reported with where it is (entity, role, event); nothing half-loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.ledger.accounts import (
    DEFAULT_CHART,
    ChartError,
    ChartOfAccounts,
    Charts,
    charts_from_config,
    for_entity,
)
from syncline.ledger.fx import RevaluationPolicy
from syncline.ledger.intercompany import TransferPricing
from syncline.ledger.money import Money, is_known_currency
from syncline.ledger.periods import ClosedPeriodPolicy
from syncline.ledger.posting import (
    DEFAULT_RULES,
    SYSTEM_EVENTS,
    PostingError,
    PostingRules,
    check_rule,
    rules_from_config,
)


@dataclass(frozen=True, slots=True)
class LedgerConfigProblem:
    where: str  # "entities.UK01.overrides.tax_payable", "posting_rules[time.approved]", …
    message: str


@dataclass(frozen=True, slots=True)
class LedgerConfig:
    charts: Mapping[str, ChartOfAccounts]
    functional_currencies: Mapping[str, str]
    rules: PostingRules = DEFAULT_RULES
    closed_period_policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE
    fx_revaluation: RevaluationPolicy = field(default_factory=RevaluationPolicy)
    intercompany: TransferPricing = field(default_factory=TransferPricing)

    @property
    def chart_set(self) -> Charts:
        """Configured charts by entity; the default template for any other entity."""
        return Charts(self.charts)


def _chart_problem(e: ChartError) -> LedgerConfigProblem:
    where = "entities" + (f".{e.entity_id}" if e.entity_id else "")
    if e.role:
        where += f".overrides.{e.role}"
    return LedgerConfigProblem(where, e.message)


def _rule_problem(e: PostingError) -> LedgerConfigProblem:
    return LedgerConfigProblem(f"posting_rules[{e.event or '?'}]", e.message)


def _rules_against_charts(rules: PostingRules, configured: set[str],
                          charts: Mapping[str, ChartOfAccounts],
                          ) -> list[LedgerConfigProblem]:
    """Every rule Syncline posts (and every configured one) checked against each configured
    chart and the default template: roles no chart maps, amount keys and placeholders the
    event does not give, events nothing posts — named by rule and role."""
    found: list[LedgerConfigProblem] = []
    for rule in rules.rules:
        if rule.event not in SYSTEM_EVENTS and rule.event not in configured:
            continue  # a reference rule nothing posts (ledger.posting.REFERENCE_RULES)
        targets = [c for c in (*charts.values(), DEFAULT_CHART)
                   if not rule.entity or c.entity_id == rule.entity]
        for e in check_rule(rule, targets or [for_entity(DEFAULT_CHART, rule.entity)]):
            if rule.event in configured or not e.entity_id:
                found.append(_rule_problem(e))
            else:  # a built-in rule the entity's overrides broke
                found.append(LedgerConfigProblem(
                    f"entities.{e.entity_id}.overrides.{e.role}",
                    f"{e.message}; built-in posting rule {rule.event} needs it (map the role "
                    "or configure the rule under posting_rules)"))
    return found


def ledger_config_from_dict(
    data: Mapping[str, object],
) -> LedgerConfig | tuple[LedgerConfigProblem, ...]:
    problems: list[LedgerConfigProblem] = []
    charts = charts_from_config(data)
    if isinstance(charts, tuple):
        problems.extend(_chart_problem(e) for e in charts)
        charts = {}
    functional: dict[str, str] = {}
    entities = data.get("entities")
    if isinstance(entities, Mapping):
        for entity_id, settings in entities.items():
            currency = settings.get("functional_currency") if isinstance(settings,
                                                                         Mapping) else None
            if not isinstance(currency, str) or not is_known_currency(currency):
                problems.append(LedgerConfigProblem(
                    f"entities.{entity_id}.functional_currency",
                    f"needs an ISO 4217 currency code, got {currency!r}"))
            else:
                functional[str(entity_id)] = currency
    rules: PostingRules = DEFAULT_RULES
    raw_rules = data.get("posting_rules")
    if raw_rules is not None:
        if not isinstance(raw_rules, list) or not all(isinstance(r, Mapping) for r in raw_rules):
            problems.append(LedgerConfigProblem("posting_rules", "must be a list of rules"))
        else:
            made = rules_from_config(raw_rules)
            if isinstance(made, tuple):
                problems.extend(_rule_problem(e) for e in made)
            else:
                rules = made
    if isinstance(charts, Mapping):
        configured = {str(r.get("event")) for r in
                      (raw_rules if isinstance(raw_rules, list) else ()) if isinstance(r, Mapping)}
        problems.extend(_rules_against_charts(rules, configured, charts))
    policy = ClosedPeriodPolicy.REFUSE
    raw_policy = data.get("closed_period_policy", "refuse")
    try:
        policy = ClosedPeriodPolicy(str(raw_policy))
    except ValueError:
        problems.append(LedgerConfigProblem("closed_period_policy",
                                            f"is {raw_policy!r}; expected refuse or next_open"))
    revaluation = RevaluationPolicy()
    raw_fx = data.get("fx_revaluation")
    if raw_fx is not None:
        if not isinstance(raw_fx, Mapping):
            problems.append(LedgerConfigProblem("fx_revaluation", "must be a mapping"))
        else:
            enabled = raw_fx.get("enabled", True)
            roles = raw_fx.get("roles", ["accounts_receivable"])
            if not isinstance(enabled, bool) or not isinstance(roles, list) or not all(
                isinstance(r, str) for r in roles
            ):
                problems.append(LedgerConfigProblem(
                    "fx_revaluation", "needs enabled: true|false and roles: [role, …]"))
            else:
                revaluation = RevaluationPolicy(enabled, tuple(roles))
    transfer = TransferPricing()
    raw_ic = data.get("intercompany")
    if raw_ic is not None:
        made_ic = _transfer_pricing(raw_ic)
        if isinstance(made_ic, list):
            problems.extend(made_ic)
        else:
            transfer = made_ic
    if problems:
        return tuple(problems)
    return LedgerConfig(charts, functional, rules, policy, revaluation, intercompany=transfer)


def _fraction(value: object) -> Decimal | None:
    """A decimal written as text or an integer ("0.10", 0); floats are refused."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        made = Decimal(str(value))
    except InvalidOperation:
        return None
    return made if made.is_finite() else None


def _transfer_pricing(raw: object) -> TransferPricing | list[LedgerConfigProblem]:
    """The ``intercompany:`` section (transfer-pricing policy), or where it is wrong."""
    where = "intercompany"
    if not isinstance(raw, Mapping):
        return [LedgerConfigProblem(where, "must be a mapping")]
    problems: list[LedgerConfigProblem] = []
    method = raw.get("method", "cost_plus")
    if method not in ("cost_plus", "rate_card"):
        problems.append(LedgerConfigProblem(f"{where}.method",
                                            f"is {method!r}; expected cost_plus or rate_card"))
    markup = _fraction(raw.get("markup", "0.10"))
    if markup is None or markup < 0:
        problems.append(LedgerConfigProblem(
            f"{where}.markup", f"needs a non-negative decimal as text (\"0.10\"), got "
            f"{raw.get('markup')!r}"))
    pairs: list[tuple[str, str, Decimal]] = []
    for i, pair in enumerate(raw.get("pairs") or []):
        m = _fraction(pair.get("markup")) if isinstance(pair, Mapping) else None
        if not isinstance(pair, Mapping) or not isinstance(pair.get("provider"), str) \
                or not isinstance(pair.get("recipient"), str) or m is None or m < 0:
            problems.append(LedgerConfigProblem(
                f"{where}.pairs[{i}]", "needs provider, recipient and markup (\"0.08\")"))
            continue
        pairs.append((pair["provider"], pair["recipient"], m))
    rates: list[tuple[str, str, Money]] = []
    for i, item in enumerate(raw.get("rates") or []):
        amount = _fraction(item.get("rate")) if isinstance(item, Mapping) else None
        currency = item.get("currency") if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping) or not isinstance(item.get("role"), str) \
                or amount is None or amount <= 0 or not isinstance(currency, str) \
                or not is_known_currency(currency):
            problems.append(LedgerConfigProblem(
                f"{where}.rates[{i}]", "needs role, rate (\"95.00\") and an ISO 4217 currency"))
            continue
        rates.append((str(item.get("provider", "*")), item["role"], Money(amount, currency)))
    if method == "rate_card" and not rates and not problems:
        problems.append(LedgerConfigProblem(f"{where}.rates",
                                            "method rate_card needs at least one role rate"))
    if problems or markup is None:
        return problems
    return TransferPricing(str(method), markup, tuple(pairs), tuple(rates))


def default_ledger_config(ref: ReferenceData = DEFAULT_REFERENCE) -> LedgerConfig:
    """No file: the default template for every entity, functional currencies from the
    reference data, the built-in posting rules, refuse posting into closed periods."""
    return LedgerConfig({}, {e.code: e.functional_currency for e in ref.entities})


class LedgerConfigInvalid(ValueError):
    """A ledger configuration file that cannot be used; ``problems`` says where and why."""

    def __init__(self, path: str, problems: tuple[LedgerConfigProblem, ...]) -> None:
        self.problems = problems
        listed = "; ".join(f"{p.where}: {p.message}" for p in problems)
        super().__init__(f"ledger configuration {path} is invalid: {listed}")


def ledger_config_for(path: str | Path | None,
                      ref: ReferenceData = DEFAULT_REFERENCE) -> LedgerConfig:
    """The system's ledger configuration: the file at ``path`` (entities it does not list keep
    the default template and the reference's functional currency), or the default."""
    base = default_ledger_config(ref)
    if not path:
        return base
    made = load_ledger_config(path)
    if isinstance(made, tuple):
        raise LedgerConfigInvalid(str(path), made)
    return replace(made, functional_currencies={**base.functional_currencies,
                                                **made.functional_currencies})


def load_ledger_config(path: str | Path) -> LedgerConfig | tuple[LedgerConfigProblem, ...]:
    """Read and validate a ledger configuration file (YAML)."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return (LedgerConfigProblem(str(p), f"cannot read: {exc}"),)
    if not isinstance(data, Mapping):
        return (LedgerConfigProblem(str(p), "the file must hold a mapping"),)
    return ledger_config_from_dict(data)
