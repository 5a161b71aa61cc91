"""Journal entries for invoice release and credit notes, from posting rules.

Release of an invoice (rule ``billing.invoice_released``, by default): Dr accounts receivable
(gross) / Cr revenue by service line (items for services rendered) / Cr deferred revenue — the
contract liability — (items billed ahead of service, e.g. a retainer in advance) / Cr tax
payable. A credit note (rule ``billing.credit_note_issued``) posts the same lines on the
opposite sides, for its own amounts, so it exactly reverses its share. The amounts a rule
receives: ``total`` (gross), ``revenue``, ``deferred``, ``tax``; a firm maps them to its own
accounts in its ledger configuration (``docs/ledger.md``, "Posting rules").

When the invoice currency differs from the entity's functional currency every line carries
the functional amount, the rate and its source. The default rules mark the receivable
``balancing``: each other line is converted on its own (round half-up) and the receivable's
functional amount is their sum, so the entry balances in both currencies by construction
(the receivable may differ by a minor unit from ``round(total × rate)``; that is the stated
rule).

``release_posting`` / ``credit_note_posting`` return a ``PostingError`` when the rule cannot
post (unmapped role, …); ``release_entry`` / ``credit_note_entry`` raise ``PostingFailed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from syncline.billing.credits import CreditNote
from syncline.billing.fx import FxSnapshot
from syncline.billing.invoicing import Invoice
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.fx import FxRate
from syncline.ledger.journal import JournalEntry
from syncline.ledger.money import Money, total
from syncline.ledger.posting import (
    CREDIT_NOTE_ISSUED,
    DEFAULT_RULES,
    INVOICE_RELEASED,
    PostingError,
    PostingRules,
    entry_or_raise,
    post,
)


def fx_rate(fx: FxSnapshot) -> FxRate:
    """The ledger's rate for a billing FX snapshot (source names the snapshot's date)."""
    return FxRate(fx.base, fx.quote, fx.rate, f"{fx.source} {fx.as_of.isoformat()}", fx.as_of)


def _split(amounts: Sequence[tuple[Money, bool]], currency: str) -> tuple[Money, Money]:
    recognised = total((a for a, d in amounts if not d), currency)
    deferred = total((a for a, d in amounts if d), currency)
    return recognised, deferred


def _amounts(recognised: Money, deferred: Money, tax: Money) -> dict[str, Money]:
    return {"total": recognised + deferred + tax, "revenue": recognised, "deferred": deferred,
            "tax": tax}


def _fx(fx: FxSnapshot | None) -> tuple[str | None, dict[str, FxRate]]:
    """(functional currency, rates) for ``post``: none when there is nothing to convert."""
    if fx is None or fx.base == fx.quote:
        return None, {}
    return fx.quote, {fx.base: fx_rate(fx)}


def posts_anything(doc: Invoice | CreditNote) -> bool:
    """False for a document whose revenue, deferred and tax totals are all zero (e.g. work
    fully written off at a soft cap): it is issued, but has nothing to journal."""
    recognised, deferred = _split([(ln.amount, ln.deferred) for ln in doc.lines], doc.currency)
    return not (recognised.is_zero and deferred.is_zero and doc.tax.is_zero)


def release_amounts(invoice: Invoice, *, all_deferred: bool = False) -> dict[str, Money]:
    """The amounts of ``billing.invoice_released``: total (gross), revenue, deferred, tax.

    ``all_deferred``: the revenue engine recognises revenue, so the whole net amount is
    ``deferred`` (Dr AR gross / Cr contract liability net / Cr tax payable by default).
    """
    recognised, deferred = _split([(ln.amount, ln.deferred or all_deferred)
                                   for ln in invoice.lines], invoice.currency)
    return _amounts(recognised, deferred, invoice.tax)


def release_posting(invoice: Invoice, chart: ChartOfAccounts, *,
                    fx: FxSnapshot | None = None, all_deferred: bool = False,
                    rules: PostingRules = DEFAULT_RULES) -> JournalEntry | PostingError:
    """Release of ``invoice`` by its rule (see module doc); ``fx`` defaults to the
    invoice's own."""
    functional, rates = _fx(fx if fx is not None else invoice.fx)
    return post(
        rules.rule(INVOICE_RELEASED, invoice.entity_code),
        release_amounts(invoice, all_deferred=all_deferred),
        chart=chart, entity_id=invoice.entity_code, posting_date=invoice.invoice_date,
        source_id=invoice.number,
        params={"number": invoice.number, "contract": invoice.contract_number,
                "customer": invoice.customer_name, "service_line": invoice.service_line,
                "tax_code": invoice.tax_code},
        functional_currency=functional, rates=rates,
    )


def release_entry(invoice: Invoice, chart: ChartOfAccounts, *,
                  fx: FxSnapshot | None = None, all_deferred: bool = False,
                  rules: PostingRules = DEFAULT_RULES) -> JournalEntry:
    """``release_posting``, raising ``PostingFailed`` when the rule cannot post."""
    return entry_or_raise(release_posting(invoice, chart, fx=fx, all_deferred=all_deferred,
                                          rules=rules))


def credit_amounts(note: CreditNote, *, all_deferred: bool = False) -> dict[str, Money]:
    """The amounts of ``billing.credit_note_issued`` (positive: what the note takes back)."""
    recognised, deferred = _split([(-ln.amount, ln.deferred or all_deferred)
                                   for ln in note.lines], note.currency)
    return _amounts(recognised, deferred, -note.tax)


def credit_note_posting(note: CreditNote, chart: ChartOfAccounts, *,
                        fx: FxSnapshot | None = None, posting_date: date | None = None,
                        all_deferred: bool = False,
                        rules: PostingRules = DEFAULT_RULES) -> JournalEntry | PostingError:
    """Dr revenue / deferred / tax, Cr receivable (by default): the reversal of the note's
    items, referencing the invoice it reverses.

    Pass the *invoice's* ``fx`` to reverse at the original rate (the default policy: any
    difference against today's rate is the revaluation's business, not the credit's).
    ``all_deferred`` mirrors the release in revenue-engine mode (contract liability).
    """
    functional, rates = _fx(fx)
    return post(
        rules.rule(CREDIT_NOTE_ISSUED, note.entity_code),
        credit_amounts(note, all_deferred=all_deferred),
        chart=chart, entity_id=note.entity_code,
        posting_date=posting_date or note.credit_date, source_id=note.number,
        params={"number": note.number, "invoice": note.invoice_number,
                "contract": note.contract_number, "customer": note.customer_name,
                "service_line": note.service_line, "tax_code": note.tax_code},
        reverses=note.invoice_number, functional_currency=functional, rates=rates,
    )


def credit_note_entry(note: CreditNote, chart: ChartOfAccounts, *,
                      fx: FxSnapshot | None = None, posting_date: date | None = None,
                      all_deferred: bool = False,
                      rules: PostingRules = DEFAULT_RULES) -> JournalEntry:
    """``credit_note_posting``, raising ``PostingFailed`` when the rule cannot post."""
    return entry_or_raise(credit_note_posting(note, chart, fx=fx, posting_date=posting_date,
                                              all_deferred=all_deferred, rules=rules))


# --- a rule that cannot post -----------------------------------------------------------------

POSTING_FAILED = "ledger.posting_rule_failed"

_FIXES = {
    "unmapped_role": "map role {role!r} to an account in the chart of {entity} (ledger "
                     "configuration, entities.{entity}.overrides) or change posting rule "
                     "{event!r} (posting_rules)",
    "missing_param": "change posting rule {event!r} (posting_rules) so that it uses only the "
                     "placeholders the event gives (docs/ledger.md, Posting rules)",
    "missing_amount": "change posting rule {event!r} (posting_rules) so that it uses only the "
                      "amount keys the event gives (docs/ledger.md, Posting rules)",
    "unbalanced": "change posting rule {event!r} (posting_rules): its lines must balance for "
                  "every amount the event gives (docs/ledger.md, Posting rules)",
}


def posting_problem(error: PostingError, *, retry: str,
                    objects: tuple[tuple[str, str], ...] = ()) -> Problem:
    """The finance problem of a rule that could not post: names entity, event and role."""
    entity = error.entity_id or "?"
    role = f" (role {error.role!r})" if error.role else ""
    fix = _FIXES.get(error.problem, "correct posting rule {event!r} or the chart of {entity} "
                                    "in the ledger configuration").format(
        role=error.role, entity=entity, event=error.event)
    source = error.source_type or error.event
    return Problem(
        POSTING_FAILED, BusinessDomain.FINANCE,
        f"posting rule {error.event} cannot post {error.source_id} in {entity}{role}: "
        f"{error.message}",
        f"A ledger administrator should {fix}, then {retry}; the entry posts then and this "
        "exception resolves itself.",
        field="posting_rules", severity=Severity.HIGH,
        objects=objects or (("journal", f"{source}:{error.source_id}"), ("entity", entity),
                            ("posting_rule", error.event)))
