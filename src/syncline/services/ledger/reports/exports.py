"""Exports of the stored books: ``export_books(conn, fmt, …)`` for each format in ``EXPORTS``.

- ``beancount``: every journal entry, a file ``bean-check`` accepts;
- ``netsuite-csv``, ``qbo``, ``xero``: what the ERP target of that vendor would receive for
  the period (issue 13) — the customers, the invoices and credit notes as the vendor's own
  documents (the outbox payload builders over the stored documents: ``invoice_document``,
  ``credit_note_document``), and the period summary of every other entry (``summary.py``,
  the function the close's ``erp-journals`` step uses), each turned into the vendor's
  records by that vendor's builders (``VendorExport``, wired by bootstrap) with the same
  mapping its target uses: the connector's ``settings`` from a mapping file (``load_mapping``)
  or, when none is given, Syncline's own codes (then said in ``notes``).

The content is the export's files (name → text): one for Beancount, QBO and Xero, four CSV
imports for NetSuite. Documents are those dated in the period (all, without one); journal
summaries are per entity, period and currency.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import credit_notes
from syncline.adapters.db.tables import contracts, customers, invoices, xref
from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.ledger.accounts import DEFAULT_CHART, ChartOfAccounts, Charts
from syncline.ledger.exports.beancount import to_beancount
from syncline.ledger.exports.common import Exported
from syncline.ledger.exports.documents import (
    ExportContext,
    ExportSources,
    MappingInvalid,
    VendorExport,
    assemble,
)
from syncline.ledger.exports.summary import (
    drop_receivable_revaluation,
    summary_lines,
    summary_payloads,
)
from syncline.ledger.periods import period_end, period_start
from syncline.services.billing.run.credits import load_credit_note
from syncline.services.billing.run.erp_documents import credit_note_document, invoice_document
from syncline.services.billing.run.invoices import load_invoice
from syncline.services.ledger.queries import charts_for, functional_currencies, load_entries

EXPORTS: tuple[str, ...] = ("beancount", "netsuite-csv", "qbo", "xero")
EXPORT_MEDIA = {"beancount": "text/plain", "netsuite-csv": "text/csv",
                "qbo": "application/json", "xero": "application/json"}
Files = dict[str, str]

__all__ = ["EXPORTS", "EXPORT_MEDIA", "ExportMapping", "MappingInvalid", "UnknownExport",
           "archive", "export_books", "load_mapping"]


class UnknownExport(ValueError):
    pass


ExportMapping = tuple[str | None, dict[str, Any]]  # (connector name, its settings)


def load_mapping(path: str | Path, kind: str, *, entity: str | None = None,
                 required: bool = True) -> ExportMapping | None:
    """A mapping file: a connectors config (the connector of ``kind`` — the one posting for
    ``entity`` when several are — whose name finds the customers it created in the
    cross-reference) or a bare ``settings`` mapping. ``required=False``: None when a
    connectors config has no connector of that kind (the firm's own config)."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as bad:
        raise MappingInvalid([f"{path}: {bad}"]) from None
    if isinstance(document, dict) and isinstance(document.get("connectors"), list):
        found = [c for c in document["connectors"]
                 if isinstance(c, dict) and c.get("kind") == kind]
        if entity:
            found = sorted(found, key=lambda c: entity not in _entities(c))
        if not found:
            if required:
                raise MappingInvalid([f"{path}: no connector of kind {kind}"])
            return None
        return str(found[0].get("name") or "") or None, dict(found[0].get("settings") or {})
    if not isinstance(document, dict):
        raise MappingInvalid([f"{path}: a connectors config or a settings mapping"])
    return None, dict(document.get("settings", document))


def _entities(connector: dict[str, Any]) -> set[str]:
    settings = connector.get("settings") or {}
    return {str(e) for e in settings.get("entities") or settings.get("tenants") or []}


def export_books(
    conn: Connection,
    fmt: str,
    *,
    period: str | None = None,
    entity: str | None = None,
    ref: ReferenceData = DEFAULT_REFERENCE,
    chart: Charts | ChartOfAccounts = DEFAULT_CHART,
    vendors: Mapping[str, VendorExport] | None = None,
    mapping: ExportMapping | None = None,
    mapping_file: str | Path | None = None,
    connectors_config: str | Path | None = None,
) -> Exported[Files]:
    """The stored books (of ``period`` if given, else all) as the format's files.

    The mapping of an ERP format: ``mapping`` as given, else the ``mapping_file``, else the
    firm's connectors config (its connector of that vendor, when it has one), else none
    (Syncline's own codes, said in the notes).

    Raises ``UnknownExport`` for a format that is not in ``EXPORTS`` or not wired
    (``vendors``), ``MappingInvalid`` naming every problem of a mapping. Records a vendor's
    builders refuse are left out and returned as errors next to the files.
    """
    if fmt not in EXPORTS:
        raise UnknownExport(f"unknown export {fmt!r}: expected one of {', '.join(EXPORTS)}")
    charts = charts_for(conn, ref, chart)
    if entity:
        charts = {k: v for k, v in charts.items() if k == entity}
    functional = functional_currencies(ref)
    entries = load_entries(conn, period=period, entity=entity)
    if fmt == "beancount":
        title = "Syncline books" + (f" {period}" if period else "") + (
            f" {entity}" if entity else "")
        currencies = sorted({functional[e] for e in charts if e in functional})
        made = to_beancount(entries, charts, title=title,
                            open_date=period_start(period) if period else None,
                            operating_currencies=currencies)
        return Exported({"books.beancount": made.content}, made.errors)
    vendor = (vendors or {}).get(fmt)
    if vendor is None:
        raise UnknownExport(f"export {fmt!r} is not wired: its vendor builders were not given")
    receivables = {e: c.code("accounts_receivable") for e, c in charts.items()}
    sources = _sources(conn, entries, period, entity, receivables)
    if mapping is None and mapping_file is not None:
        mapping = load_mapping(mapping_file, vendor.kind, entity=entity)
    elif mapping is None and connectors_config is not None:
        mapping = load_mapping(connectors_config, vendor.kind, entity=entity, required=False)
    name, settings = mapping if mapping is not None else (None, None)
    context = _context(conn, ref, charts, sources, vendor.kind, name)
    builders, notes = vendor.builders(settings, context)
    made_records = assemble(sources, builders)
    return Exported(vendor.render(made_records.content), made_records.errors, notes)


def _sources(conn: Connection, entries: list[Any], period: str | None,
             entity: str | None, receivables: Mapping[str, str]) -> ExportSources:
    inv, cn = invoices.c, credit_notes.c
    q_inv = select(inv.number).order_by(inv.entity_code, inv.number)
    q_cn = select(cn.number).order_by(cn.entity_code, cn.number)
    if period:
        first, last = period_start(period).isoformat(), period_end(period).isoformat()
        q_inv = q_inv.where((inv.invoice_date >= first) & (inv.invoice_date <= last))
        q_cn = q_cn.where((cn.credit_date >= first) & (cn.credit_date <= last))
    if entity:
        q_inv, q_cn = q_inv.where(inv.entity_code == entity), q_cn.where(cn.entity_code == entity)
    documents: list[dict[str, Any]] = []
    for number in conn.execute(q_inv).scalars():
        made = load_invoice(conn, number)
        if made is not None:
            documents.append(invoice_document(conn, made))
    for number in conn.execute(q_cn).scalars():
        note = load_credit_note(conn, number)
        credited = load_invoice(conn, note.invoice_number) if note is not None else None
        if note is not None and credited is not None:
            documents.append(credit_note_document(conn, note, credited))
    per_period: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for e in entries:
        per_period[(e.entity_id, e.posting_date.strftime("%Y-%m"))].append(e)
    journals = [p for (ent, month), group in sorted(per_period.items())
                for p in summary_payloads(
                    drop_receivable_revaluation(summary_lines(group), receivables.get(ent)),
                    name=f"summary:{ent}:{month}", entity=ent, period=month)]
    return ExportSources(_customers(conn, documents), documents, journals)


def _customers(conn: Connection, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``erp.customer.upsert`` payloads of the documents' customers, once per entity (terms
    from the customer's first contract in that entity)."""
    wanted = sorted({(d["entity"], d["customer_id"]) for d in documents if d.get("customer_id")})
    out = []
    for ent, customer_id in wanted:
        row = conn.execute(
            select(customers.c.id, customers.c.external_id, customers.c.name,
                   customers.c.country, contracts.c.tax_profile, contracts.c.currency)
            .join(contracts, contracts.c.customer_id == customers.c.id)
            .where((customers.c.id == customer_id) & (contracts.c.entity_code == ent))
            .order_by(contracts.c.number)).first()
        if row is not None:
            out.append({"customer_id": row.id, "external_id": row.external_id,
                        "name": row.name, "country": row.country, "legal_entity": ent,
                        "tax_profile": row.tax_profile, "currency": row.currency})
    return out


def _context(conn: Connection, ref: ReferenceData, charts: Mapping[str, ChartOfAccounts],
             sources: ExportSources, kind: str, connector: str | None) -> ExportContext:
    dims: dict[str, set[str]] = defaultdict(set)
    currencies: set[str] = set()
    for d in sources.documents:
        currencies.add(d["currency"])
        if d.get("service_line"):
            dims["service_line"].add(str(d["service_line"]))
    for j in sources.journals:
        for line in j["lines"]:
            currencies.add(str(line[3]))
            for extra in line[4:]:
                if isinstance(extra, dict):
                    for k, v in extra.get("dimensions", []):
                        dims[str(k)].add(str(v))
    known: dict[str, str] = {}
    if connector:
        known = {r.syncline_id: r.external_id for r in conn.execute(
            select(xref.c.syncline_id, xref.c.external_id).where(
                (xref.c.system == f"erp:{connector}") & (xref.c.object_type == "customer")))}
    some = next(iter(charts.values()), None)

    def code(role: str, default: str) -> str:
        if some is None:
            return default
        return next((a.code for a in some.accounts if a.role == role), default)

    return ExportContext(
        entities={e.code: (e.name, e.functional_currency) for e in ref.entities
                  if e.code in charts},
        accounts=sorted({a.code for c in charts.values() for a in c.accounts}),
        tax_codes=sorted(t.code for t in ref.tax_profiles),
        dimensions={k: sorted(v) for k, v in dims.items()}, customer_ids=known,
        currencies=sorted(currencies),
        revenue_account=code("revenue:consulting", "4000"),
        deferred_account=code("contract_liability", "2300"),
        receivable_account=code("accounts_receivable", "1100"))


def archive(files: Files) -> bytes:
    """Several files as one ZIP archive (the NetSuite export's four imports)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buffer.getvalue()
