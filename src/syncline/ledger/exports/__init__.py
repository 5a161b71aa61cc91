"""Exports of Syncline's books to real ledgers: Beancount (the journal entries), and
NetSuite CSV, QuickBooks Online and Xero (customers, invoices and credit notes as the
vendor's documents, plus the period summary of what no document carries). Pure functions
over loaded data; what could not be exported is returned as ``ExportError`` values next to
what could.
"""

from syncline.ledger.exports.common import (
    Exported,
    ExportError,
    Payload,
    dumps_json,
    split_entry,
)

__all__ = ["ExportError", "Exported", "Payload", "dumps_json", "split_entry"]
