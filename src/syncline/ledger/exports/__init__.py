"""Exports of Syncline's books to real ledgers: Beancount, NetSuite CSV, QuickBooks Online,
Xero. Pure functions from journal entries (and charts) to text or plain payloads; what could
not be exported is returned as ``ExportError`` values next to what could.
"""

from syncline.ledger.exports.common import (
    Exported,
    ExportError,
    Payload,
    dumps_json,
    split_entry,
)

__all__ = ["ExportError", "Exported", "Payload", "dumps_json", "split_entry"]
