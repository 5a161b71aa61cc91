"""Exports of the stored books: ``export_books(conn, fmt, …)`` for each format in ``EXPORTS``."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection

from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.ledger.accounts import DEFAULT_CHART, ChartOfAccounts, Charts
from syncline.ledger.exports.beancount import to_beancount
from syncline.ledger.exports.common import Exported, Payload, dumps_json
from syncline.ledger.exports.netsuite import to_netsuite_csv
from syncline.ledger.exports.qbo import qbo_journal_entries
from syncline.ledger.exports.xero import xero_manual_journals, xero_request
from syncline.ledger.periods import period_start
from syncline.services.ledger.queries import (
    charts_for,
    functional_currencies,
    load_entries,
    with_document_dimensions,
)

EXPORTS: tuple[str, ...] = ("beancount", "netsuite-csv", "qbo", "xero")
EXPORT_MEDIA = {"beancount": "text/plain", "netsuite-csv": "text/csv",
                "qbo": "application/json", "xero": "application/json"}


class UnknownExport(ValueError):
    pass


def export_books(
    conn: Connection,
    fmt: str,
    *,
    period: str | None = None,
    entity: str | None = None,
    ref: ReferenceData = DEFAULT_REFERENCE,
    chart: Charts | ChartOfAccounts = DEFAULT_CHART,
) -> Exported[str]:
    """The stored books (entries of ``period`` if given, else all) as a file's text.

    - ``beancount``: a file ``bean-check`` accepts (every chart account opened);
    - ``netsuite-csv``: the journal entry CSV import (Subsidiary = the entity's name);
    - ``qbo``: ``{entity: [JournalEntry body, …]}`` — one body per entry and currency,
      to POST to that entity's company (A/R lines carry the Syncline customer id as Entity);
    - ``xero``: ``{entity: {"ManualJournals": […]}}`` in each entity's base currency.

    Invoice and credit note entries get their document's dimensions (customer, contract,
    project, service line) where their lines lack them. Entries that cannot be exported are
    left out and returned as errors next to the content.
    """
    if fmt not in EXPORTS:
        raise UnknownExport(f"unknown export {fmt!r}: expected one of {', '.join(EXPORTS)}")
    entries = with_document_dimensions(conn, load_entries(conn, period=period, entity=entity))
    charts = charts_for(conn, ref, chart)
    if entity:
        charts = {k: v for k, v in charts.items() if k == entity}
    functional = functional_currencies(ref)
    if fmt == "beancount":
        title = "Syncline books" + (f" {period}" if period else "") + (
            f" {entity}" if entity else "")
        currencies = sorted({functional[e] for e in charts if e in functional})
        return to_beancount(entries, charts, title=title,
                            open_date=period_start(period) if period else None,
                            operating_currencies=currencies)
    if fmt == "netsuite-csv":
        names = {e.code: e.name for e in ref.entities}
        return to_netsuite_csv(entries, charts, subsidiaries=names)
    if fmt == "qbo":
        made = qbo_journal_entries(entries, charts)
        grouped: dict[str, list[object]] = defaultdict(list)
        for p in made.content:
            grouped[p.entity_id].append(p.body)
        return Exported(dumps_json(dict(sorted(grouped.items()))), made.errors)
    xero = xero_manual_journals(entries, charts, functional)
    per_entity: dict[str, list[Payload]] = defaultdict(list)
    for p in xero.content:
        per_entity[p.entity_id].append(p)
    return Exported(dumps_json({k: xero_request(v) for k, v in sorted(per_entity.items())}),
                    xero.errors)
