"""``validate``: everything the mapping names exists and is active in the QBO company.

Reads (all with minorversion): ``/companyinfo/<realmId>`` (the realm is the legal entity:
it must answer), ``/preferences`` (``CurrencyPrefs.HomeCurrency`` = ``home_currency``;
``MultiCurrencyEnabled`` when any mapped A/R account or ``currencies`` is foreign; class and
department tracking when a dimension targets them), then by query: Account (each mapped id
active; each ``ar_accounts`` entry of type Accounts Receivable in its currency), Item (each
``items`` entry active, its ``IncomeAccountRef`` the mapped account of its code), TaxCode
(global model: each mapped id active; automated sales tax: only ``TAX`` / ``NON``), Class /
Department (each mapped id active), CompanyCurrency (each foreign currency active).
Every problem is a sentence naming the Syncline code and the QBO id.
"""

from __future__ import annotations

from typing import Any

from syncline.connectors.quickbooks.client import QboApi
from syncline.connectors.quickbooks.settings import QboSettings

AST_CODES = ("TAX", "NON")


def _index(api: QboApi, entity: str) -> dict[str, dict[str, Any]]:
    # QBO's query answers active objects only unless asked for inactive ones too
    rows = api.query(f"select * from {entity} where Active in (true, false)")
    return {str(r.get("Id")): r for r in rows}


def _check(index: dict[str, dict[str, Any]], entity: str, code: str, qbo_id: str,
           problems: list[str]) -> dict[str, Any] | None:
    row = index.get(qbo_id)
    if row is None:
        problems.append(f"{code} → {entity} {qbo_id}: no such {entity} in QuickBooks")
        return None
    if row.get("Active") is False:
        problems.append(f"{code} → {entity} {qbo_id} ({row.get('Name')}): inactive")
    return row


def validate(api: QboApi, s: QboSettings) -> list[str]:
    problems: list[str] = []
    m = s.mapping
    api.singleton(f"/companyinfo/{s.realm_id}", "CompanyInfo")
    prefs = api.singleton("/preferences", "Preferences")
    currency = prefs.get("CurrencyPrefs") or {}
    home = str((currency.get("HomeCurrency") or {}).get("value") or "")
    if home != s.home_currency:
        problems.append(f"home_currency {s.home_currency}: the company's home currency is "
                        f"{home or 'not set'}")
    foreign = sorted({c for c in m.ar_accounts if c != s.home_currency})
    if foreign and not currency.get("MultiCurrencyEnabled"):
        problems.append(f"currencies {', '.join(foreign)}: multicurrency is off in the "
                        "company (Account and Settings → Advanced → Currency)")
    info = prefs.get("AccountingInfoPrefs") or {}
    targets = {t for d, t in s.dimension_targets.items() if m.dimensions.get(d)}
    if "Class" in targets and not (info.get("ClassTrackingPerTxnLine")
                                   or info.get("ClassTrackingPerTxn")):
        problems.append("dimensions → Class: class tracking is off in the company")
    if "Department" in targets and not info.get("TrackDepartments"):
        problems.append("dimensions → Department: location tracking is off in the company")
    accounts = _index(api, "Account")
    for code, qbo_id in sorted(m.accounts.items()):
        _check(accounts, "Account", f"account {code}", qbo_id, problems)
    for cur, qbo_id in sorted(m.ar_accounts.items()):
        row = _check(accounts, "Account", f"A/R {cur}", qbo_id, problems)
        if row is not None and row.get("AccountType") != "Accounts Receivable":
            problems.append(f"A/R {cur} → Account {qbo_id}: type {row.get('AccountType')}, "
                            "not Accounts Receivable")
        got = str((row or {}).get("CurrencyRef", {}).get("value") or s.home_currency)
        if row is not None and got != cur:
            problems.append(f"A/R {cur} → Account {qbo_id}: in {got}")
    items = _index(api, "Item")
    for code, qbo_id in sorted(s.items.items()):
        row = _check(items, "Item", f"item for account {code}", qbo_id, problems)
        income = str(((row or {}).get("IncomeAccountRef") or {}).get("value") or "")
        if row is not None and income != m.account(code):
            problems.append(f"item for account {code} → Item {qbo_id}: books to income "
                            f"account {income or 'none'}, the mapping says "
                            f"{m.account(code) or 'none (unmapped)'}")
    if s.tax_model == "automated_sales_tax":
        for code, value in sorted(m.tax_codes.items()):
            if value not in AST_CODES:
                problems.append(f"tax code {code} → {value}: automated sales tax takes TAX "
                                "or NON on a line")
    else:
        codes = _index(api, "TaxCode")
        for code, qbo_id in sorted(m.tax_codes.items()):
            _check(codes, "TaxCode", f"tax code {code}", qbo_id, problems)
    for dim, target in sorted(s.dimension_targets.items()):
        if m.dimensions.get(dim):
            found = _index(api, target)
            for code, qbo_id in sorted(m.dimensions[dim].items()):
                _check(found, target, f"{dim} {code}", qbo_id, problems)
    if foreign and currency.get("MultiCurrencyEnabled"):
        active = {str(r.get("Code")) for r in _index(api, "CompanyCurrency").values()
                  if r.get("Active") is not False}
        for cur in foreign:
            if cur not in active:
                problems.append(f"currency {cur}: not added to the company's currency list")
    return problems
