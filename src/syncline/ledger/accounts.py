"""Chart of accounts: accounts per legal entity from a template, addressed by role.

Business code never names an account number: it asks the chart for the account that plays a
role ("accounts_receivable", "revenue:consulting", …). A firm maps roles to its own numbers by
editing the template, not code.
"""

from __future__ import annotations

from dataclasses import dataclass
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
)


@dataclass(frozen=True, slots=True)
class ChartOfAccounts:
    accounts: tuple[Account, ...] = DEFAULT_TEMPLATE

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
