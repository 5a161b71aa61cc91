"""Close reconciliation, billing: invoice lines vs the billable items invoiced on them, the AR
subledger vs the GL, and (on-invoice mode) the unbilled subledger vs the GL."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import payments
from syncline.adapters.db.tables import billable_items, invoice_lines, invoices
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.carried import FX_REVALUATION, Books, ar_amount
from syncline.services.ledger.carried import load_books, receivables
from syncline.services.ledger.held import held, holding
from syncline.services.ledger.queries import period_end
from syncline.services.ledger.reconciliation.core import Recon, books_balance, carried_on
from syncline.services.ledger.reports.aging import unbilled_items
from syncline.services.ledger.reports.common import ZERO, credit_notes


def items_vs_lines(conn: Connection, rec: Recon, period: str, entity: str | None) -> None:
    check = "invoiced items = invoice lines"
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    q = select(invoices).where(invoices.c.period == period)
    if entity:
        q = q.where(invoices.c.entity_code == entity)
    heads = {r.number: r for r in conn.execute(q)}
    if not heads:
        rec.check(check, {}, "no invoice in the period", entity=entity)
        return
    numbers = sorted(heads)
    lines: dict[str, list[Any]] = defaultdict(list)
    items: dict[str, list[Any]] = defaultdict(list)
    for chunk in range(0, len(numbers), 500):
        part = numbers[chunk:chunk + 500]
        for ln in conn.execute(select(invoice_lines).where(
                invoice_lines.c.invoice_number.in_(part))):
            lines[ln.invoice_number].append(ln)
        for it in conn.execute(select(billable_items.c.key, billable_items.c.amount,
                                      billable_items.c.invoice_number).where(
                billable_items.c.invoice_number.in_(part))):
            items[it.invoice_number].append(it)
    for number in numbers:
        inv = heads[number]
        key = (inv.entity_code, inv.currency)
        line_total = sum((ln.amount for ln in lines[number]), ZERO)
        item_total = sum((it.amount for it in items[number]), ZERO)
        totals[key][0] += line_total
        totals[key][1] += item_total
        on_lines = {k for ln in lines[number] for k in json.loads(ln.item_keys)}
        linked = {it.key for it in items[number]}
        for k in sorted(on_lines - linked):
            rec.diff(check, "line_item_not_linked", "billable_item", k, inv.entity_code,
                     inv.currency, ZERO, ZERO,
                     f"invoice {number} lists the item but the item is not marked invoiced on it")
        for k in sorted(linked - on_lines):
            amount = next(it.amount for it in items[number] if it.key == k)
            rec.diff(check, "item_not_on_invoice_lines", "billable_item", k, inv.entity_code,
                     inv.currency, ZERO, amount, f"marked invoiced on {number}")
        if line_total != item_total:
            rec.diff(check, "amount_differs", "invoice", number, inv.entity_code, inv.currency,
                     line_total, item_total, "sum of invoice lines vs sum of its items")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "invoices of the period: invoice lines (expected) vs billable items invoiced "
              "on them (actual)", entity=entity)


def ar_vs_gl(conn: Connection, rec: Recon, period: str, books: Books,
              charts: Mapping[str, ChartOfAccounts], entity: str | None) -> None:
    check = "AR subledger = GL"
    end = period_end(period).isoformat()
    open_docs, doc_key, note_of = held(conn, ("ar_open", end),  # every scope's
                                       lambda: _ar_open(conn, end))
    if holding(conn):  # every scope's from the firm's books, worked out once per step
        ar = held(conn, ("ar_gl", period, tuple(sorted(receivables(charts).items()))),
                  lambda: _ar_gl(load_books(conn, period, charts), charts, note_of))
    else:
        ar = _ar_gl(books, charts, note_of)
    gl_by_doc, posted_in, other, gl = ar.scope(entity)
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for number, amount in open_docs.items():
        ent, cur = doc_key[number]
        if entity and ent != entity:
            continue  # another entity's document: not this scope's row (nor difference)
        totals[(ent, cur)][0] += amount
        posted = gl_by_doc.get(number, ZERO)
        if posted != amount:
            cause = "invoice_not_posted" if not posted else "amount_differs"
            rec.diff(check, cause, "invoice", number, ent, cur, amount, posted,
                     "open amount (total, credit notes, payments) vs its AR postings")
    for number, posted in sorted(gl_by_doc.items()):
        if number in posted_in and number not in open_docs:
            ent, cur = posted_in[number]  # the posting's own entity: never lost to a filter
            rec.diff(check, "posting_without_invoice", "journal", f"invoice:{number}", ent, cur,
                     ZERO, posted, "AR posted for an invoice the subledger does not hold")
    for (ent, what), (amount, cur, description) in sorted(other.items()):
        if amount:
            rec.diff(check, "other_ar_posting", "journal", what, ent, cur, ZERO, amount,
                     description)
    for key, amount in gl.items():
        totals[key][1] = amount
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "invoices to the period end plus their credit notes (negative) less the payments "
              "received vs the AR account balance", entity=entity)


@dataclass(frozen=True, slots=True)
class ArPosted:
    """The AR postings of some books, per entity (the entity of the posting): by document
    (the invoice an invoice, credit note or payment settles), the (entity, currency) of each
    document's first posting — also over every entity, in the books' order —, the postings of
    no document by (entity, ``type:id``) as [amount, currency, description], and the AR
    balance by (entity, currency). Shared by every scope of a close step: not to be changed."""

    by_doc: dict[str, dict[str, Decimal]]
    first_in: dict[str, dict[str, tuple[str, str]]]
    first_all: dict[str, tuple[str, str]]
    other: dict[str, dict[tuple[str, str], list[Any]]]
    gl: dict[tuple[str, str], Decimal]

    def scope(self, entity: str | None
              ) -> tuple[dict[str, Decimal], dict[str, tuple[str, str]],
                         dict[tuple[str, str], list[Any]], dict[tuple[str, str], Decimal]]:
        """(by document, first posting, others, balance) as the books of ``entity`` (None:
        every entity's) give them."""
        if entity is not None:
            return (self.by_doc.get(entity, {}), self.first_in.get(entity, {}),
                    self.other.get(entity, {}),
                    {k: v for k, v in self.gl.items() if k[0] == entity})
        by_doc: dict[str, Decimal] = defaultdict(Decimal)
        for docs in self.by_doc.values():
            for number, amount in docs.items():
                by_doc[number] += amount
        return (by_doc, self.first_all,
                {k: v for got in self.other.values() for k, v in got.items()}, self.gl)


def _ar_gl(books: Books, charts: Mapping[str, ChartOfAccounts],
           note_of: Mapping[str, str]) -> ArPosted:
    # revaluation lines restate foreign AR in the functional currency: they have their own
    # check ("foreign balances revalued at closing rate"), not a document behind them
    books = Books(tuple(c for c in books.carried if c.key.source_type != FX_REVALUATION),
                  tuple(e for e in books.entries if e.source_type != FX_REVALUATION),
                  books.through)
    found = ArPosted({}, {}, {}, {}, dict(books_balance(books, charts, "accounts_receivable")))

    def post(ent: str, number: str, amount: Decimal, currency: str) -> None:
        docs = found.by_doc.setdefault(ent, {})
        docs[number] = docs.get(number, ZERO) + amount
        found.first_in.setdefault(ent, {}).setdefault(number, (ent, currency))
        found.first_all.setdefault(number, (ent, currency))

    for c in carried_on(books, charts, "accounts_receivable"):  # the books carried (ADR 0014)
        ent = c.key.entity
        if c.key.document:
            if c.first_currency:  # moved by an entry with an amount
                post(ent, c.key.document, c.amount, c.first_currency)
            else:
                docs = found.by_doc.setdefault(ent, {})
                docs[c.key.document] = docs.get(c.key.document, ZERO) + c.amount
        elif c.first_currency:
            got = found.other.setdefault(ent, {}).setdefault(
                (ent, c.key.entry), [ZERO, c.first_currency, c.note])
            got[0] += c.amount
    for e in books.entries:
        chart = charts.get(e.entity_id)
        if chart is None:
            continue
        amount = ar_amount(e, chart.code("accounts_receivable"))
        if not amount:
            continue
        if e.source_type == "invoice" or (e.source_type in ("credit_note", "payment")
                                          and e.source_id in note_of):
            number = e.source_id if e.source_type == "invoice" else note_of[e.source_id]
            post(e.entity_id, number, amount, e.lines[0].amount.currency)
        else:
            found.other.setdefault(e.entity_id, {})[
                (e.entity_id, f"{e.source_type}:{e.source_id}")] = [
                amount, e.lines[0].amount.currency, e.description]
    return found


def _ar_open(conn: Connection, end: str
             ) -> tuple[dict[str, Decimal], dict[str, tuple[str, str]], dict[str, str]]:
    """The subledger at ``end``: each invoice dated to it with its open amount (total, its
    credit notes dated to ``end``, less its payments received to ``end``) and its (entity,
    currency); the invoice every credit note and payment settles."""
    open_docs: dict[str, Decimal] = {}
    doc_key: dict[str, tuple[str, str]] = {}
    for inv in conn.execute(select(invoices).where(invoices.c.invoice_date <= end)):
        open_docs[inv.number] = inv.total
        doc_key[inv.number] = (inv.entity_code, inv.currency)
    note_of: dict[str, str] = {}
    for note in credit_notes(conn):
        note_of[note.number] = note.invoice_number
        if note.credit_date <= end and note.invoice_number in open_docs:
            open_docs[note.invoice_number] += note.total  # negative: a note reduces AR
    for pay in conn.execute(select(payments.c.payment_id, payments.c.invoice_number,
                                   payments.c.amount, payments.c.received_on)):
        note_of[pay.payment_id] = pay.invoice_number
        if pay.received_on <= end and pay.invoice_number in open_docs:
            open_docs[pay.invoice_number] -= pay.amount  # a payment settles AR
    return open_docs, doc_key, note_of


def unbilled_vs_gl(conn: Connection, rec: Recon, period: str,
                    books: Books, charts: Mapping[str, ChartOfAccounts],
                    entity: str | None) -> None:
    check = "unbilled subledger = GL"
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    by_contract: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for item, ent, _ in unbilled_items(conn, period_end(period), entity=entity):
        totals[(ent, item.currency)][0] += item.amount
        by_contract[(ent, item.contract_number, item.currency)] += item.amount
    for key, amount in books_balance(books, charts, "unbilled_receivable").items():
        totals[key][1] = amount
    for (ent, cur), (sub, gl) in sorted(totals.items()):
        if sub == gl:
            continue
        # the accrual is posted per entity, currency and service line: none of it is by
        # contract, so the GL side is one row and the listed amounts sum to the gap
        rec.attribute(check, ent, cur, obj="contract",
                      subledger={c: a for (e, c, u), a in by_contract.items()
                                 if (e, u) == (ent, cur) and a},
                      gl={}, gl_total=gl,
                      causes=("unbilled_not_accrued" if not gl else "amount_differs", "", ""),
                      rest=("gl_without_unbilled_items" if not sub else "gl_not_by_contract",
                            "account", "unbilled_receivable"),
                      detail="billable items not invoiced at the period end")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "billable items not invoiced at the period end vs the unbilled receivable "
              "balance (the close workflow's accrual posts it)", entity=entity)
