"""Ledger reports on the stored books, their rendering and exports of the books.

``build_report(conn, name, period, entity=…)`` (``registry``) returns a ``Report``
(``common``): ``syncline.ledger.reports.Table`` values plus notes, one report per name in
``REPORTS`` — trial balance, revenue waterfall and deferred revenue roll-forward (built by the
pure ``syncline.ledger.reports``), RPO (``rpo``), unbilled aging (``aging``), margin
(``margin``) and the close reconciliation (``syncline.services.ledger.reconciliation``);
``render`` writes a report as JSON, CSV or XLSX, and ``export_books`` (``exports``) writes the
stored books as beancount, NetSuite CSV, QBO or Xero. Everything is derived on demand from the
stored facts; nothing here is written.
"""

from syncline.services.ledger.reports.common import Report
from syncline.services.ledger.reports.exports import (
    EXPORT_MEDIA,
    EXPORTS,
    MappingInvalid,
    UnknownExport,
    archive,
    export_books,
    load_mapping,
)
from syncline.services.ledger.reports.registry import (
    AS_OF,
    REPORTS,
    ReportOptions,
    UnknownReport,
    build_report,
    record_close,
    report_options,
)
from syncline.services.ledger.reports.render import report_csv, report_json, report_xlsx

__all__ = [
    "AS_OF",
    "EXPORTS",
    "EXPORT_MEDIA",
    "REPORTS",
    "MappingInvalid",
    "Report",
    "ReportOptions",
    "UnknownExport",
    "UnknownReport",
    "archive",
    "build_report",
    "export_books",
    "load_mapping",
    "record_close",
    "report_csv",
    "report_json",
    "report_options",
    "report_xlsx",
]
