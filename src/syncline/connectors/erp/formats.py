"""Every ERP file export format by name (bootstrap hands them to the export service): the
vendors' own builders, each in its ``connectors/<vendor>/export.py``."""

from __future__ import annotations

from syncline.connectors.netsuite.export import NetSuiteExport
from syncline.connectors.quickbooks.export import QboExport
from syncline.connectors.xero.export import XeroExport
from syncline.ledger.exports.documents import VendorExport


def formats() -> dict[str, VendorExport]:
    made: list[VendorExport] = [NetSuiteExport(), QboExport(), XeroExport()]
    return {f.format: f for f in made}
