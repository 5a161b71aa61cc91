"""``validate``: every id the mapping names exists at NetSuite and is active, read by SuiteQL.

One query per table (``SELECT … FROM <table> WHERE id IN (…)``):

- ``subsidiary``: each legal entity's subsidiary, active, its base ``currency`` the configured
  one;
- ``currency``: each configured currency id, active, its ``symbol`` the ISO code it is mapped
  from;
- ``account``: every mapped account and A/R account, active;
- ``salestaxitem``: every mapped tax code, active (the table name is NetSuite's legacy tax
  code record; a SuiteTax account keeps tax codes elsewhere: unconfirmed);
- ``item``: every service item invoice lines post through, active, and its ``incomeaccount``
  the account it is mapped for (when that account is mapped);
- ``classification`` / ``department`` / ``location``: every mapped dimension value.

Each problem names the setting, the Syncline code and the NetSuite id. ``isinactive`` is a
checkbox, which SuiteQL returns as ``'T'``/``'F'``.
"""

from __future__ import annotations

import re
from typing import Any

from syncline.connectors.netsuite.client import NetSuiteClient
from syncline.connectors.netsuite.settings import NetSuiteSettings

INTERNAL_ID = re.compile(r"^-?[0-9]+$")  # NetSuite's own records may be negative (-7)
SEGMENT_TABLES = {"class": "classification", "department": "department",
                  "location": "location"}


def _rows(client: NetSuiteClient, table: str, columns: str,
          ids: set[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted(i for i in ids if INTERNAL_ID.match(i))
    if not wanted:
        return {}
    query = f"SELECT id, {columns} FROM {table} WHERE id IN ({', '.join(wanted)})"
    return {str(r["id"]): r for rows in client.suiteql(query) for r in rows}


def _check(problems: list[str], found: dict[str, dict[str, Any]], what: str, code: str,
           internal: str) -> dict[str, Any] | None:
    if not INTERNAL_ID.match(internal):
        problems.append(f"{what} {code}: {internal!r} is not a NetSuite internal id")
        return None
    row = found.get(internal)
    if row is None:
        problems.append(f"{what} {code}: NetSuite has no record {internal}")
        return None
    if str(row.get("isinactive", "F")).upper() in ("T", "TRUE"):
        problems.append(f"{what} {code}: NetSuite record {internal} is inactive")
        return None
    return row


def validate(client: NetSuiteClient, s: NetSuiteSettings) -> list[str]:
    m, problems = s.mapping, list[str]()
    subs = _rows(client, "subsidiary", "name, isinactive, currency",
                 {sub.id for sub in s.subsidiaries.values()})
    for entity, sub in sorted(s.subsidiaries.items()):
        row = _check(problems, subs, "subsidiary of entity", entity, sub.id)
        expected = s.currencies.get(sub.currency)
        if row is not None and expected and str(row.get("currency")) != expected:
            problems.append(f"subsidiary of entity {entity}: NetSuite record {sub.id} keeps "
                            f"currency {row.get('currency')}, the settings say {sub.currency} "
                            f"({expected})")
    currencies = _rows(client, "currency", "symbol, isinactive", set(s.currencies.values()))
    for iso, internal in sorted(s.currencies.items()):
        row = _check(problems, currencies, "currency", iso, internal)
        if row is not None and str(row.get("symbol")) != iso:
            problems.append(f"currency {iso}: NetSuite record {internal} is "
                            f"{row.get('symbol')}")
    accounts = {**{code: v for code, v in m.accounts.items()},
                **{f"A/R {cur}": v for cur, v in m.ar_accounts.items()}}
    found = _rows(client, "account", "acctnumber, isinactive", set(accounts.values()))
    for code, internal in sorted(accounts.items()):
        _check(problems, found, "account", code, internal)
    taxes = _rows(client, "salestaxitem", "itemid, isinactive", set(m.tax_codes.values()))
    for code, internal in sorted(m.tax_codes.items()):
        _check(problems, taxes, "tax code", code, internal)
    items = _rows(client, "item", "itemid, isinactive, incomeaccount", set(s.items.values()))
    for code, internal in sorted(s.items.items()):
        row = _check(problems, items, "item for account", code, internal)
        income = m.account(code)
        if row is not None and income and str(row.get("incomeaccount")) != income:
            problems.append(f"item for account {code}: NetSuite item {internal} posts to "
                            f"account {row.get('incomeaccount')}, not {income}")
    for dimension, values in sorted(m.dimensions.items()):
        segment = s.dimension_fields.get(dimension)
        if segment is None:
            problems.append(f"dimension {dimension}: no NetSuite segment in dimension_fields")
            continue
        table = SEGMENT_TABLES[segment]
        found = _rows(client, table, "name, isinactive", set(values.values()))
        for code, internal in sorted(values.items()):
            _check(problems, found, f"{dimension} ({segment})", code, internal)
    return problems
