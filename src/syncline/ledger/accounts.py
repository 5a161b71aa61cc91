"""Chart of accounts: accounts per legal entity from a template, addressed by role.

Business code never names an account number: it asks the chart for the account that plays a
role ("accounts_receivable", "revenue:consulting", …). A firm maps roles to its own numbers by
editing the template, not code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    name: str
    type: AccountType
    role: str


class UnknownAccountRole(KeyError):
    """A posting asked for a role the entity's chart does not map."""


DEFAULT_TEMPLATE: tuple[Account, ...] = (
    Account("1100", "Accounts receivable", AccountType.ASSET, "accounts_receivable"),
    Account("1150", "Unbilled receivable (contract asset)", AccountType.ASSET,
            "unbilled_receivable"),
    Account("1200", "Work in progress", AccountType.ASSET, "wip"),
    Account("1300", "Intercompany receivable", AccountType.ASSET, "intercompany_receivable"),
    Account("2100", "Accrued payroll", AccountType.LIABILITY, "accrued_payroll"),
    Account("2200", "Tax payable", AccountType.LIABILITY, "tax_payable"),
    Account("2300", "Deferred revenue (contract liability)", AccountType.LIABILITY,
            "contract_liability"),
    Account("2400", "Intercompany payable", AccountType.LIABILITY, "intercompany_payable"),
    Account("4000", "Revenue - consulting", AccountType.REVENUE, "revenue:consulting"),
    Account("4010", "Revenue - implementation", AccountType.REVENUE, "revenue:implementation"),
    Account("4020", "Revenue - managed services", AccountType.REVENUE, "revenue:managed_services"),
    Account("4900", "Expense recovery", AccountType.REVENUE, "expense_recovery"),
    Account("5000", "Labor cost", AccountType.EXPENSE, "labor_cost"),
    Account("7900", "FX gain/loss", AccountType.EXPENSE, "fx_gain_loss"),
    # Additions (kept after the original accounts so existing positions do not move):
    Account("1000", "Cash", AccountType.ASSET, "cash"),
    Account("4950", "Intercompany service revenue", AccountType.REVENUE,
            "intercompany_revenue"),
    Account("5100", "Intercompany labor cost", AccountType.EXPENSE, "intercompany_cost"),
    Account("5200", "Project expenses (not rebilled)", AccountType.EXPENSE, "project_expense"),
)


@dataclass(frozen=True, slots=True)
class ChartOfAccounts:
    accounts: tuple[Account, ...] = DEFAULT_TEMPLATE
    entity_id: str = ""  # the legal entity this chart belongs to ("" = the template itself)

    def for_role(self, role: str) -> Account:
        for account in self.accounts:
            if account.role == role:
                return account
        if role.startswith("revenue:"):
            return self.for_role("revenue:consulting")
        raise UnknownAccountRole(role)

    def code(self, role: str) -> str:
        return self.for_role(role).code

    def by_code(self, code: str) -> Account | None:
        return next((a for a in self.accounts if a.code == code), None)


DEFAULT_CHART = ChartOfAccounts()


# --- Charts per legal entity, from a template plus plain-dict overrides --------------------

REQUIRED_ROLES: tuple[str, ...] = (
    "accounts_receivable",
    "unbilled_receivable",
    "contract_liability",
    "revenue:consulting",
    "wip",
    "labor_cost",
    "expense_recovery",
    "tax_payable",
    "fx_gain_loss",
    "intercompany_receivable",
    "intercompany_payable",
)
"""Roles every entity's chart must map: the accounts the ledger's own postings use."""


@dataclass(frozen=True, slots=True)
class ChartError:
    """A chart that cannot be used, located by entity, role and/or code."""

    entity_id: str
    problem: str  # "missing_role" | "duplicate_code" | "duplicate_role" | "bad_account" | …
    message: str
    role: str = ""
    code: str = ""


_ACCOUNT_FIELDS = ("code", "name", "type", "role")


def account_from_dict(
    data: Mapping[str, object], entity_id: str = "", default_role: str = ""
) -> Account | ChartError:
    """An ``Account`` from a plain mapping ``{code, name, type, role}``; codes may be ints."""
    unknown = sorted(set(data) - set(_ACCOUNT_FIELDS))
    if unknown:
        return ChartError(entity_id, "bad_account", f"unknown account field(s) {unknown}",
                          role=str(data.get("role", default_role)))
    role = str(data.get("role", default_role)).strip()
    code = data.get("code")
    name = data.get("name")
    kind = data.get("type")
    if not role:
        return ChartError(entity_id, "bad_account", "an account needs a role", code=str(code))
    if not isinstance(code, str | int) or isinstance(code, bool) or not str(code).strip():
        return ChartError(entity_id, "bad_account", f"account for role {role!r} needs a code",
                          role=role)
    if not isinstance(name, str) or not name.strip():
        return ChartError(entity_id, "bad_account", f"account {code} needs a name", role=role,
                          code=str(code))
    try:
        account_type = AccountType(str(kind))
    except ValueError:
        allowed = ", ".join(t.value for t in AccountType)
        return ChartError(entity_id, "bad_account",
                          f"account {code} has type {kind!r}; expected one of {allowed}",
                          role=role, code=str(code))
    return Account(str(code).strip(), name.strip(), account_type, role)


def validate_chart(
    chart: ChartOfAccounts, required_roles: Iterable[str] = REQUIRED_ROLES
) -> tuple[ChartError, ...]:
    """Every required role mapped (directly, not by fallback), codes and roles unique."""
    errors: list[ChartError] = []
    entity = chart.entity_id
    roles = {a.role for a in chart.accounts}
    for role in required_roles:
        if role not in roles:
            errors.append(ChartError(entity, "missing_role",
                                     f"no account plays the required role {role!r}", role=role))
    seen_codes: dict[str, str] = {}
    seen_roles: set[str] = set()
    for a in chart.accounts:
        if a.code in seen_codes:
            errors.append(ChartError(
                entity, "duplicate_code",
                f"code {a.code} is used by roles {seen_codes[a.code]!r} and {a.role!r}",
                role=a.role, code=a.code))
        seen_codes.setdefault(a.code, a.role)
        if a.role in seen_roles:
            errors.append(ChartError(entity, "duplicate_role",
                                     f"role {a.role!r} is mapped twice", role=a.role, code=a.code))
        seen_roles.add(a.role)
    return tuple(errors)


def chart_from_template(
    entity_id: str,
    template: Iterable[Account] = DEFAULT_TEMPLATE,
    overrides: Mapping[str, Mapping[str, object] | None] | None = None,
    required_roles: Iterable[str] = REQUIRED_ROLES,
) -> ChartOfAccounts | tuple[ChartError, ...]:
    """The chart of ``entity_id``: the template with per-role overrides, validated.

    ``overrides`` maps a role to a plain dict of the fields to change (``code``, ``name``,
    ``type``); a role not in the template is added (then all three fields are needed); a role
    mapped to ``None`` is removed. Template order is kept, added roles follow in the order
    given. Returns the chart, or every problem found.
    """
    accounts: dict[str, Account] = {a.role: a for a in template}
    errors: list[ChartError] = []
    for role, fields in (overrides or {}).items():
        if fields is None:
            accounts.pop(role, None)
            continue
        base = accounts.get(role)
        merged: dict[str, object] = (
            {"code": base.code, "name": base.name, "type": base.type.value} if base else {}
        )
        merged.update(fields)
        merged["role"] = role
        made = account_from_dict(merged, entity_id)
        if isinstance(made, ChartError):
            errors.append(made)
        else:
            accounts[role] = made
    chart = ChartOfAccounts(tuple(accounts.values()), entity_id=entity_id)
    errors.extend(validate_chart(chart, required_roles))
    return tuple(errors) if errors else chart


def template_from_dicts(
    rows: Iterable[Mapping[str, object]],
) -> tuple[Account, ...] | tuple[ChartError, ...]:
    """A template (tuple of accounts) from plain dicts ``{code, name, type, role}``."""
    made = [account_from_dict(r) for r in rows]
    errors = tuple(m for m in made if isinstance(m, ChartError))
    if errors:
        return errors
    return tuple(m for m in made if isinstance(m, Account))


def charts_from_config(
    config: Mapping[str, object],
) -> dict[str, ChartOfAccounts] | tuple[ChartError, ...]:
    """Charts per entity from a plain config mapping (the YAML file's parsed form)::

        template: [{code, name, type, role}, …]      # optional; DEFAULT_TEMPLATE otherwise
        required_roles: [role, …]                    # optional; REQUIRED_ROLES otherwise
        entities:
          US01: {overrides: {role: {code, name, type} | null, …}}
    """
    errors: list[ChartError] = []
    template: tuple[Account, ...] = DEFAULT_TEMPLATE
    raw_template = config.get("template")
    if raw_template is not None:
        if not isinstance(raw_template, list):
            return (ChartError("", "bad_config", "template must be a list of accounts"),)
        rows = [r for r in raw_template if isinstance(r, Mapping)]
        if len(rows) != len(raw_template):
            return (ChartError("", "bad_config", "every template entry must be a mapping"),)
        made = template_from_dicts(rows)
        if made and isinstance(made[0], ChartError):
            return tuple(m for m in made if isinstance(m, ChartError))
        template = tuple(m for m in made if isinstance(m, Account))
    required: tuple[str, ...] = REQUIRED_ROLES
    raw_required = config.get("required_roles")
    if raw_required is not None:
        if not isinstance(raw_required, list) or not all(isinstance(r, str) for r in raw_required):
            return (ChartError("", "bad_config", "required_roles must be a list of roles"),)
        required = tuple(str(r) for r in raw_required)
    entities = config.get("entities")
    if not isinstance(entities, Mapping) or not entities:
        return (ChartError("", "bad_config", "entities must map entity ids to their settings"),)
    charts: dict[str, ChartOfAccounts] = {}
    for entity_id, settings in entities.items():
        entity = str(entity_id)
        settings = settings or {}
        if not isinstance(settings, Mapping):
            errors.append(ChartError(entity, "bad_config", "entity settings must be a mapping"))
            continue
        overrides = settings.get("overrides") or {}
        if not isinstance(overrides, Mapping) or not all(
            v is None or isinstance(v, Mapping) for v in overrides.values()
        ):
            errors.append(ChartError(entity, "bad_config",
                                     "overrides must map roles to {code, name, type} or null"))
            continue
        made_chart = chart_from_template(entity, template, overrides, required)
        if isinstance(made_chart, ChartOfAccounts):
            charts[entity] = made_chart
        else:
            errors.extend(made_chart)
    return tuple(errors) if errors else charts


def for_entity(chart: ChartOfAccounts, entity_id: str) -> ChartOfAccounts:
    """The same accounts, labelled as ``entity_id``'s chart."""
    return replace(chart, entity_id=entity_id)


@dataclass(frozen=True, slots=True)
class Charts:
    """The chart of each legal entity: configured charts by entity, the template for the rest.

    Postings ask ``charts.of(entity)`` for the entity they post in, so two entities may map
    the same role to different accounts.
    """

    by_entity: Mapping[str, ChartOfAccounts] = field(default_factory=dict)
    template: ChartOfAccounts = DEFAULT_CHART

    def of(self, entity_id: str) -> ChartOfAccounts:
        chart = self.by_entity.get(entity_id)
        return chart if chart is not None else for_entity(self.template, entity_id)

    def all(self, entity_ids: Iterable[str] = ()) -> dict[str, ChartOfAccounts]:
        """Charts of the configured entities and of ``entity_ids``, by entity."""
        return {e: self.of(e) for e in sorted(set(self.by_entity) | set(entity_ids))}


def as_charts(chart: Charts | ChartOfAccounts) -> Charts:
    """One chart for every entity (a template) or charts by entity, as ``Charts``."""
    return chart if isinstance(chart, Charts) else Charts(template=chart)
