"""A period's export to an ERP's files: the customers, invoices and credit notes as the
vendor's own documents, and the period summary of what no document carries (issue 13).

Pure: the inputs are the payloads the ERP targets receive from the outbox (built by the same
functions: ``erp.customer.upsert``, ``erp.invoice.post`` from the stored documents, and
``erp.journal.post`` summaries from ``summary.py``), and a vendor's ``Builders`` turn each
into that vendor's record body with the same mapping its target uses (the vendor packages
under ``connectors/`` provide them; nothing here knows a vendor). ``assemble`` calls the
builders once per payload, in the order an import needs them (customers, then invoices
and credit notes, then journals), so every document appears once; a payload a builder
refuses is left out and returned as an ``ExportError`` naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from syncline.ledger.exports.common import Exported, ExportError, dumps_json

Body = dict[str, Any]


class Unexportable(ValueError):
    """A payload the vendor's builder cannot turn into a record (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One vendor record of the export: its legal entity, its type (the vendor's name:
    ``invoice``, ``Invoice``, ``CreditNotes`` …), Syncline's key and the body."""

    entity: str
    kind: str
    key: str
    body: Body


@dataclass(frozen=True)
class ExportSources:
    """What one export carries, as outbox payloads."""

    customers: Sequence[Body] = ()
    documents: Sequence[Body] = ()  # invoices and credit notes
    journals: Sequence[Body] = ()  # period summaries


@dataclass(frozen=True)
class ExportContext:
    """What a vendor needs of the firm to build records without a mapping file (Syncline's
    own codes) or to check one: each entity's name and functional currency, the chart's
    account codes, the tax codes, each dimension's values, and the vendor ids of customers
    already known (the cross-reference of the vendor's connector, or the mapping file)."""

    entities: Mapping[str, tuple[str, str]]  # code → (name, functional currency)
    accounts: Sequence[str] = ()
    tax_codes: Sequence[str] = ()
    dimensions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    customer_ids: Mapping[str, str] = field(default_factory=dict)  # Syncline id → vendor id
    currencies: Sequence[str] = ()  # every currency the export's payloads use
    revenue_account: str = "4000"  # the chart's accounts invoice lines book to
    deferred_account: str = "2300"
    receivable_account: str = "1100"


class Builders(Protocol):
    """A vendor's record builders over outbox payloads; each raises ``Unexportable``."""

    def customer(self, payload: Body) -> tuple[str, Body]: ...

    def document(self, payload: Body) -> tuple[str, Body]: ...

    def journal(self, payload: Body) -> tuple[str, Body]: ...


class VendorExport(Protocol):
    """A file export format backed by a vendor's builders (``connectors/erp/exports.py``)."""

    format: str  # the export's name: netsuite-csv, qbo, xero
    kind: str  # the connector kind whose settings are its mapping
    media_type: str

    def builders(self, settings: Body | None, context: ExportContext
                 ) -> tuple[Builders, tuple[str, ...]]:
        """The builders for a mapping (``None``: Syncline's own codes) and notes to show."""
        ...

    def render(self, records: Sequence[Record]) -> dict[str, str]:
        """The export's files (name → text)."""
        ...


class MappingInvalid(ValueError):
    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def assemble(sources: ExportSources, builders: Builders) -> Exported[tuple[Record, ...]]:
    """Every payload once, as the vendor's record, in import order; refusals as errors."""
    records: list[Record] = []
    errors: list[ExportError] = []
    steps = ((sources.customers, builders.customer, "customer_id", "legal_entity"),
             (sources.documents, builders.document, "number", "entity"),
             (sources.journals, builders.journal, "source", "entity"))
    for payloads, build, key_field, entity_field in steps:
        for p in payloads:
            entity, key = str(p.get(entity_field) or ""), str(p.get(key_field) or "")
            try:
                kind, body = build(p)
            except Unexportable as why:
                errors.append(ExportError(entity, key, "not_exportable", str(why)))
                continue
            records.append(Record(entity, kind, key, body))
    return Exported(tuple(records), tuple(errors))


def records_json(records: Iterable[Record], *, wrap: bool = False) -> str:
    """``{entity: {kind: [body, …]}}`` as exact JSON (kinds in import order); ``wrap``:
    each kind's list as the request body that creates them (``{kind: {kind: […]}}``, as
    Xero's ``PUT /<kind>`` takes it)."""
    grouped: dict[str, dict[str, list[Body]]] = {}
    for r in records:
        grouped.setdefault(r.entity, {}).setdefault(r.kind, []).append(r.body)
    out: dict[str, Any] = {}
    for entity in sorted(grouped):
        kinds = grouped[entity]
        out[entity] = {k: ({k: v} if wrap else v) for k, v in kinds.items()}
    return dumps_json(out)
