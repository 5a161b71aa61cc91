"""The ERP file exports' formats (``netsuite-csv``, ``qbo``, ``xero``): each is a vendor's own
record builders (the ones its target posts with) over the export's payloads, with the same
mapping — the connector's settings (``settings:`` of a ``kind: netsuite|quickbooks|xero``
connector, read by that vendor's own parser), or, without one, Syncline's own codes.

A file export needs no credentials, so the keys only a live connection uses (secrets,
account/realm/tenant ids, token files) are filled with placeholders before the vendor's
parser runs: every mapping key is checked exactly as the target checks it. One key is the
export's own: ``customers`` (Syncline customer id → the vendor's customer id), for customers
the cross-reference does not hold yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.ledger.exports.documents import ExportContext, MappingInvalid

PLACEHOLDER_ENV = {"SYNCLINE_EXPORT_UNUSED": "not used by a file export"}
PLACEHOLDER_SECRET = "${env:SYNCLINE_EXPORT_UNUSED}"
EXPORT_KEYS = ("customers",)
NO_MAPPING = ("no {vendor} mapping: accounts, tax codes, items, dimensions and customers are "
              "Syncline's own codes and ids (give the connector's settings as the mapping to "
              "export the vendor's ids)")


def offline_config(kind: str, settings: dict[str, Any], secrets: Iterable[str],
                   placeholders: dict[str, Any]) -> ConnectorConfig:
    """The connector config the vendor's parser checks: the mapping as given, secrets and
    connection keys as placeholders (a file export never connects)."""
    made = {k: v for k, v in settings.items() if k not in EXPORT_KEYS}
    for key in secrets:
        made[key] = PLACEHOLDER_SECRET
    for key, value in placeholders.items():
        made.setdefault(key, value)
    return ConnectorConfig(name="export", kind=kind, settings=made)


def parsed(parse: Callable[[ConnectorConfig], Any], config: ConnectorConfig) -> Any:
    try:
        return parse(config)
    except ConnectorConfigInvalid as bad:
        raise MappingInvalid(bad.problems) from None


def customer_ids(settings: dict[str, Any] | None, context: ExportContext) -> dict[str, str]:
    """Vendor customer ids: the cross-reference's, then the mapping's ``customers``."""
    given = (settings or {}).get("customers") or {}
    if not isinstance(given, dict):
        raise MappingInvalid(["customers: a mapping of Syncline customer id → vendor id"])
    return {**context.customer_ids, **{str(k): str(v) for k, v in given.items()}}


def identity(codes: Iterable[str]) -> dict[str, str]:
    return {str(c): str(c) for c in codes}


def base_settings(context: ExportContext, entities: Iterable[str]) -> dict[str, Any]:
    """The shared ERP mapping as Syncline's own codes (no mapping file)."""
    return {"entities": sorted(entities), "status": "posted",
            "accounts": identity(context.accounts), "tax_codes": identity(context.tax_codes),
            "dimensions": {d: identity(v) for d, v in context.dimensions.items()},
            "revenue_account": context.revenue_account,
            "deferred_account": context.deferred_account}
