"""Stage 1 of the run, **credits**: credit requests on released invoices become credit notes
that name their items (CN series numbers), their journals, credited items, and replacement
items for corrected time."""

from __future__ import annotations

from dataclasses import replace

from syncline.billing.credits import (
    CreditNote,
    CreditRefused,
    credit_note,
    items_to_reverse,
    mark_credited,
    replacement_item,
)
from syncline.billing.items import ItemSource, ItemStatus
from syncline.billing.journals import credit_note_posting, posting_problem, posts_anything
from syncline.billing.numbering import DraftRef, assign_numbers
from syncline.billing.run.inputs import CreditRequest, RunInput
from syncline.billing.run.item_ledger import ItemLedger
from syncline.domain.errors import Problem
from syncline.ledger.journal import JournalEntry
from syncline.ledger.posting import PostingError


def issue_credits(inp: RunInput, ledger: ItemLedger, problems: list[Problem],
                  ) -> tuple[list[CreditNote], list[JournalEntry]]:
    drafts: list[tuple[CreditRequest, CreditNote]] = []
    before = list(inp.prior_credit_notes)
    for n, req in enumerate(inp.credit_requests):
        on_invoice = [i for i in ledger.by_key.values() if i.invoice_number == req.invoice.number]
        targets = items_to_reverse(on_invoice, req.keys)
        if targets and all(t.status is ItemStatus.CREDITED for t in targets):
            continue  # already credited by an earlier run
        note = credit_note(req.invoice, on_invoice, req.keys, number=f"draft-{n:06d}",
                           credit_date=inp.period_end, reason=req.reason,
                           credited_before=[c for c in before
                                            if c.invoice_number == req.invoice.number])
        if isinstance(note, CreditRefused):
            problems.append(note.problem())
            continue
        drafts.append((req, note))
        before.append(note)
    numbering = assign_numbers(
        [DraftRef(d.number, inp.entity.code, d.credit_date, d.number) for _, d in drafts],
        {inp.entity.code: inp.last_credit_number}, series="CN")
    notes: list[CreditNote] = []
    entries: list[JournalEntry] = []
    for req, draft in drafts:
        number = numbering.number_of(draft.number)
        assert number is not None
        note = replace(draft, number=number)
        notes.append(note)
        if posts_anything(note):
            made = credit_note_posting(note, inp.chart, fx=req.invoice.fx, rules=inp.rules)
            if isinstance(made, PostingError):
                problems.append(posting_problem(made, retry="re-run the billing cycle"))
            else:
                entries.append(made)
        ledger.put(*mark_credited([ledger.by_key[k] for k in note.item_keys], note))
        if req.corrected_hours is not None:
            originals = [ledger.by_key[k] for k in note.item_keys
                         if ledger.by_key[k].source is ItemSource.TIME
                         and ledger.by_key[k].split_of is None]
            for original in originals:
                fixed = replacement_item(original, quantity=req.corrected_hours,
                                         revision=req.revision)
                if not ledger.known(fixed.key):
                    ledger.put(fixed)
    return notes, entries
