"""``validate()``: every mapped code exists and is active in every tenant, before first use.

Reads per tenant ``GET /Organisation`` (``OrganisationStatus`` ACTIVE, ``BaseCurrency``),
``GET /Accounts`` (each mapped ``AccountCode`` exists, ``Status`` ACTIVE, and is not a system
account: Xero's receivables are the ``DEBTORS`` system account that invoices post, not
journals), ``GET /TaxRates`` (each mapped ``TaxType`` ACTIVE) and, when tracking is
configured, ``GET /TrackingCategories`` (each category and mapped option ACTIVE). Every
problem is named with its tenant and code.
"""

from __future__ import annotations

from syncline.connectors.xero.client import XeroApi
from syncline.connectors.xero.settings import XeroSettings


def problems_of(settings: XeroSettings, apis: dict[str, XeroApi]) -> list[str]:
    out: list[str] = []
    m = settings.mapping
    for entity, api in sorted(apis.items()):
        at = f"{entity} (tenant {api.tenant_id})"
        orgs = api.get("/Organisation").get("Organisations") or []
        if not orgs or orgs[0].get("OrganisationStatus", "ACTIVE") != "ACTIVE":
            out.append(f"{at}: the organisation is not active")
        accounts = {a.get("Code"): a for a in api.get("/Accounts").get("Accounts") or []}
        for code, xero_code in sorted(m.accounts.items()):
            account = accounts.get(xero_code)
            if account is None:
                out.append(f"{at}: account {xero_code} (Syncline {code}) does not exist")
            elif account.get("Status") != "ACTIVE":
                out.append(f"{at}: account {xero_code} (Syncline {code}) is "
                           f"{account.get('Status')}")
            elif account.get("SystemAccount") == "DEBTORS":
                out.append(f"{at}: account {xero_code} (Syncline {code}) is Xero's accounts "
                           "receivable system account: invoices post it, journals cannot")
        rates = {r.get("TaxType"): r for r in api.get("/TaxRates").get("TaxRates") or []}
        for code, tax_type in sorted(m.tax_codes.items()):
            rate = rates.get(tax_type)
            if rate is None or rate.get("Status") != "ACTIVE":
                state = "does not exist" if rate is None else f"is {rate.get('Status')}"
                out.append(f"{at}: tax type {tax_type} (Syncline {code}) {state}")
        if settings.tracking:
            out += _tracking(settings, api, at)
    return out


def _tracking(settings: XeroSettings, api: XeroApi, at: str) -> list[str]:
    out = []
    found = {c.get("Name"): c for c in
             api.get("/TrackingCategories").get("TrackingCategories") or []}
    for dim, name in sorted(settings.tracking.items()):
        category = found.get(name)
        if category is None or category.get("Status") != "ACTIVE":
            out.append(f"{at}: tracking category {name!r} ({dim}) is missing or not active")
            continue
        options = {o.get("Name"): o for o in category.get("Options") or []}
        for code, option in sorted(settings.mapping.dimensions.get(dim, {}).items()):
            if options.get(option, {}).get("Status") != "ACTIVE":
                out.append(f"{at}: tracking option {option!r} of {name!r} ({dim} {code}) is "
                           "missing or not active")
    return out
