"""Lineage of a business object: from any id to the chain deal → contract → project → time,
expenses and milestones (with the delivery evidence documents kept with each completed
milestone) → billable items → invoices and credit notes → journal lines →
deliveries (outbox, with the target's reference), with every inbox message and its status.

``find(conn, q)`` takes any id a person has at hand: an invoice or credit note number, a
contract number, a deal id, a project code, a time entry, expense or milestone id, an inbox
(``inb_…``), outbox (``out_…``) or journal entry (``jnl_…``) id, a Syncline id or a vendor's
id from the cross-reference, or a milestone's evidence document (its id, URL or name), or a
time entry, expense or milestone received but not recorded (parked or refused). It
resolves the id to its contract and returns the chain. Asked
for one invoice or one time entry, the chain is narrowed to what that document touches (the
invoice's items and their time entries; the entry's items and the invoices that billed
them); asked for a contract, deal or project, it is the whole contract (each list capped at
``LIMIT`` rows). None when the id is unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, or_, select

from syncline.adapters.db.billing_tables import credit_note_lines, credit_notes, expenses
from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    customers,
    inbox,
    invoice_lines,
    invoices,
    journal_entries,
    journal_lines,
    milestones,
    outbox,
    projects,
    time_entries,
    xref,
)
from syncline.services.messaging.deliveries import delivery

LIMIT = 200


@dataclass
class Lineage:
    """The chain around ``focus`` (``(kind, id)`` of what was asked for)."""

    focus: tuple[str, str]
    contract: dict[str, Any]
    customer: dict[str, Any] | None
    projects: list[dict[str, Any]] = field(default_factory=list)
    time: list[dict[str, Any]] = field(default_factory=list)
    expenses: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    credit_notes: list[dict[str, Any]] = field(default_factory=list)
    journal: list[dict[str, Any]] = field(default_factory=list)  # entries, each with "lines"
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query.limit(LIMIT))]


def _one(conn: Connection, query: Any) -> dict[str, Any] | None:
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def _contract_of(conn: Connection, q: str) -> tuple[tuple[str, str], str] | None:
    """(focus, contract number) of an id, or None."""
    c = contracts.c
    direct = [("contract", select(c.number).where(c.number == q)),
              ("deal", select(c.number).where(c.deal_id == q)),
              ("contract", select(c.number).where(c.id == q)),
              ("invoice", select(invoices.c.contract_number).where(invoices.c.number == q)),
              ("credit_note", select(credit_notes.c.contract_number)
               .where(credit_notes.c.number == q)),
              ("project", select(c.number).join(projects, projects.c.contract_id == c.id)
               .where(or_(projects.c.code == q, projects.c.id == q))),
              ("time", select(c.number).join(projects, projects.c.contract_id == c.id)
               .join(time_entries, time_entries.c.project_code == projects.c.code)
               .where(time_entries.c.time_entry_id == q)),
              ("expense", select(expenses.c.contract_number).where(expenses.c.expense_id == q)),
              ("milestone", select(c.number).join(milestones, milestones.c.contract_id == c.id)
               .where(milestones.c.milestone_id == q))]
    for kind, query in direct:
        number = conn.execute(query).scalar()
        if number is not None:
            return (kind, q), str(number)
    if q.startswith("jnl_"):
        entry = _one(conn, select(journal_entries).where(journal_entries.c.id == q))
        found = _contract_of(conn, entry["source_id"]) if entry else None
        return ((("journal", q), found[1]) if found else None)
    for table, kind in ((inbox, "inbox"), (outbox, "outbox")):
        row = _one(conn, select(table.c.correlation_id).where(table.c.id == q))
        if row and row["correlation_id"]:
            found = _contract_of(conn, row["correlation_id"].partition("/")[2])
            return ((kind, q), found[1]) if found else None
    vendor = conn.execute(select(xref.c.syncline_id).where(xref.c.external_id == q)).scalar()
    if vendor is not None and vendor != q:
        found = _contract_of(conn, str(vendor))
        return (found[0], found[1]) if found else None
    milestone = _milestone_of_document(conn, q)
    if milestone and milestone != q:
        return _contract_of(conn, milestone)
    return _unrecorded(conn, q)


def _unrecorded(conn: Connection, q: str) -> tuple[tuple[str, str], str] | None:
    """A time entry, expense or milestone received but not recorded (parked, refused): its
    last message's project names the contract."""
    for kind in ("time", "expense", "milestone"):
        row = conn.execute(select(inbox.c.raw).where(inbox.c.subject == f"{kind}/{q}")
                           .order_by(inbox.c.seq.desc()).limit(1)).first()
        if row is None:
            continue
        try:
            code = json.loads(row.raw)["data"]["project_code"]
        except (ValueError, KeyError, TypeError):
            continue
        number = conn.execute(select(contracts.c.number).join(
            projects, projects.c.contract_id == contracts.c.id).where(
            projects.c.code == str(code))).scalar()
        if number is not None:
            return (kind, q), str(number)
    return None


def find(conn: Connection, q: str) -> Lineage | None:
    """The chain of the object ``q`` names (see the module's docstring), or None."""
    q = q.strip()
    resolved = _contract_of(conn, q) if q else None
    if resolved is None:
        return None
    focus, number = resolved
    contract = _one(conn, select(contracts).where(contracts.c.number == number))
    assert contract is not None
    out = Lineage(focus, contract, _one(conn, select(customers).where(
        customers.c.id == contract["customer_id"])))
    out.projects = _rows(conn, select(projects).where(projects.c.contract_id == contract["id"]))
    codes = [p["code"] for p in out.projects]
    items = _rows(conn, select(billable_items).where(billable_items.c.contract_number == number)
                  .order_by(billable_items.c.service_date, billable_items.c.key))
    times = _rows(conn, select(time_entries).where(time_entries.c.project_code.in_(codes))
                  .order_by(time_entries.c.work_date, time_entries.c.time_entry_id))
    if focus[0] in ("invoice", "credit_note", "journal", "time", "expense"):
        items, times = _narrow(conn, focus, items, times)
    out.items, out.time = items, times
    sources = {_source_of(i) for i in items}
    out.expenses = [e for e in _rows(conn, select(expenses).where(
        expenses.c.contract_number == number)) if focus[0] not in ("invoice", "time", "journal",
                                                                   "credit_note")
                    or ("expense", e["expense_id"]) in sources or focus == ("expense",
                                                                          e["expense_id"])]
    out.milestones = [_with_evidence(m) for m in _rows(conn, select(milestones).where(
        milestones.c.contract_id == contract["id"]).order_by(milestones.c.due_date,
                                                             milestones.c.milestone_id))]
    numbers = sorted({i["invoice_number"] for i in items if i["invoice_number"]})
    if focus[0] not in ("invoice", "time", "expense", "journal", "credit_note"):
        numbers = sorted(set(numbers) | {str(n) for n in conn.execute(select(
            invoices.c.number).where(invoices.c.contract_number == number))})
    out.invoices = _rows(conn, select(invoices).where(invoices.c.number.in_(numbers))
                         .order_by(invoices.c.invoice_date, invoices.c.number))
    out.credit_notes = _rows(conn, select(credit_notes).where(
        credit_notes.c.invoice_number.in_(numbers)).order_by(credit_notes.c.number))
    for note in out.credit_notes:
        note["lines"] = _rows(conn, select(credit_note_lines).where(
            credit_note_lines.c.credit_note_number == note["number"]))
    for invoice in out.invoices:
        invoice["lines"] = _rows(conn, select(invoice_lines).where(
            invoice_lines.c.invoice_number == invoice["number"]).order_by(invoice_lines.c.line_no))
    documents = numbers + [n["number"] for n in out.credit_notes]
    out.journal = _rows(conn, select(journal_entries).where(
        journal_entries.c.source_id.in_(documents)).order_by(journal_entries.c.posting_date,
                                                               journal_entries.c.id))
    for entry in out.journal:
        entry["lines"] = _rows(conn, select(journal_lines).where(
            journal_lines.c.entry_id == entry["id"]).order_by(journal_lines.c.line_no))
    out.deliveries, out.messages = _messages(conn, contract, out, documents)
    return out


def _with_evidence(row: dict[str, Any]) -> dict[str, Any]:
    """A milestone with its evidence decoded: ``documents`` (name, url, document_id,
    media_type as the PSA sent them; empty before it is completed or for a milestone
    completed before the evidence was kept)."""
    evidence = json.loads(row["evidence"]) if row.get("evidence") else {}
    return {**row, "documents": evidence.get("documents", [])}


def _milestone_of_document(conn: Connection, q: str) -> str | None:
    """The milestone whose evidence holds a document with this id, URL or name."""
    needle = json.dumps(q)
    for row in conn.execute(select(milestones.c.milestone_id, milestones.c.evidence).where(
            milestones.c.evidence.contains(needle))):
        for doc in json.loads(row.evidence).get("documents", []):
            if q in (doc.get("document_id"), doc.get("url"), doc.get("name")):
                return str(row.milestone_id)
    return None


def _source_of(item: dict[str, Any]) -> tuple[str, str]:
    """The source record of a billable item: ('time', 'T-1') from key or origin 'time:T-1'."""
    kind, _, key = (item.get("origin") or item["key"]).partition(":")
    return kind, key


def _narrow(conn: Connection, focus: tuple[str, str], items: list[dict[str, Any]],
            times: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The items and time entries one document or record touches."""
    kind, key = focus
    if kind == "journal":
        source = conn.execute(select(journal_entries.c.source_type, journal_entries.c.source_id)
                              .where(journal_entries.c.id == key)).first()
        kind, key = (("invoice", str(source.source_id)) if source is not None
                     and source.source_type == "invoice" else ("credit_note", str(
                         source.source_id) if source is not None else ""))
    if kind == "invoice":
        chosen = [i for i in items if i["invoice_number"] == key]
    elif kind == "credit_note":
        keys: set[str] = set()
        for line in conn.execute(select(credit_note_lines.c.item_keys).where(
                credit_note_lines.c.credit_note_number == key)):
            keys.update(json.loads(line.item_keys))
        chosen = [i for i in items if i["key"] in keys or i["credit_note_number"] == key]
    else:  # a time entry or an expense: the items made from it
        chosen = [i for i in items if _source_of(i) == (kind, key)]
    wanted = {k for s, k in map(_source_of, chosen) if s == "time"}
    return chosen, [t for t in times if t["time_entry_id"] in wanted
                    or (kind, key) == ("time", t["time_entry_id"])]


def _messages(conn: Connection, contract: dict[str, Any], chain: Lineage,
              documents: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The outbox deliveries of the chain's documents and the contract's provisioning, and
    the inbox messages of the deal, its time entries and expenses."""
    correlation = contract["correlation_id"] or f"deal/{contract['deal_id']}"
    sent = []
    for row in conn.execute(select(outbox.c.id).where(outbox.c.correlation_id == correlation)
                            .order_by(outbox.c.seq).limit(LIMIT * 5)):
        found = delivery(conn, row.id)
        if found is None:
            continue
        if (found.document in documents or not found.kind.startswith(("erp.invoice",
                                                                      "erp.credit"))):
            sent.append({**found.as_dict(), "correlation_id": correlation})
    ids = [t["inbox_id"] for t in chain.time] + [e["inbox_id"] for e in chain.expenses]
    columns = [c for c in inbox.c if c.name != "raw"]
    done = [f"milestone/{m['milestone_id']}" for m in chain.milestones if m["completed_on"]]
    done.append(f"{chain.focus[0]}/{chain.focus[1]}")  # the asked-for record's own messages
    received = _rows(conn, select(*columns).where(or_(
        inbox.c.id.in_(ids), inbox.c.subject == f"deal/{contract['deal_id']}",
        inbox.c.subject.in_(done),
        inbox.c.correlation_id == correlation)).order_by(inbox.c.seq))
    return sent[:LIMIT], received
