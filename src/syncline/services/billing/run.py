"""The invoice run per billing cycle and legal entity, on the pure billing engine.

For each legal entity (or the one asked for), in one transaction:

1. **credits** — pending credit requests (time rejected or corrected after it was invoiced)
   become credit notes naming the exact items they reverse (``billing.credits``), numbered in
   the entity's CN series, posted, the items moved to ``credited``; corrected time gets a
   replacement item (``time:TE-1@r2``) billed in the next run;
2. **generate** — retainer fees due in the cycle (advance / arrears, prorated), from the
   contract's retainer terms; time, expense and milestone items were generated when their
   events were applied, each with its rate (and FX) snapshot;
3. **select** — open items (generated / released) of the entity's contracts dated in or
   before the cycle (deferred advance months included), aggregated *set-based* in SQL into
   invoice lines (``group_lines``'s rule); a contract with a blocking problem (tax code, FX
   rate, item currency) is left out whole and becomes a billing exception, the rest goes on;
4. **caps and drawdown** — contracts with not-to-exceed caps or a drawdown retainer go
   through the pure ``draw_down`` and ``apply_caps`` (splits, write-offs, holds);
5. **invoice** — one invoice per contract, gapless numbers per entity in contract order
   (``billing.numbering``), items moved to ``invoiced`` in bulk, one release journal each
   (revenue on invoice, or contract liability when the revenue engine recognises revenue),
   outbox ``erp.invoice.post`` and ``erp.journal.post``.

Idempotent: an invoiced item is never selected again, a contract gets at most one invoice
per period (late items wait for the next cycle), retainer keys and journal sources are
natural, problems open one exception each however often the cycle runs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    or_,
    select,
    text,
    update,
)

from syncline.adapters.db.billing_tables import (
    billing_caps,
    billing_holds,
    contract_billing_terms,
    credit_note_lines,
    credit_notes,
    credit_requests,
    fx_rates,
    number_series,
)
from syncline.adapters.db.tables import (
    billable_items,
    contract_lines,
    contracts,
    customers,
    exceptions,
    invoice_lines,
    invoices,
    outbox,
    projects,
    time_entries,
    worker_versions,
)
from syncline.billing.caps import Cap, CapKind, CapScope, HeldItem, apply_caps
from syncline.billing.costs import labor_cost_posting
from syncline.billing.credits import (
    CreditLine,
    CreditNote,
    CreditRefused,
    credit_note,
    replacement_item,
)
from syncline.billing.fx import FxRateMissing, FxSnapshot, lookup_rate
from syncline.billing.invoicing import (
    Invoice,
    InvoiceLine,
    group_lines,
    invoice_from_lines,
    line_label,
)
from syncline.billing.items import (
    OPEN_STATUSES,
    BillableItem,
    ItemSource,
    ItemStatus,
    time_item,
)
from syncline.billing.journals import credit_note_posting, posts_anything, release_posting
from syncline.billing.numbering import DraftRef, assign_numbers
from syncline.billing.retainers import (
    RetainerTerms,
    Timing,
    draw_down,
    month_end,
    month_start,
    retainer_fees,
)
from syncline.billing.tax import TaxCode, TaxCodeMissing, compute_tax, tax_code_from_profile
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.domain.model import BillingType
from syncline.domain.reference import LegalEntity, ReferenceData
from syncline.ledger.accounts import ChartOfAccounts, Charts, as_charts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.money import Money
from syncline.ledger.periods import ClosedPeriodPolicy, period_end, period_start
from syncline.ledger.posting import DEFAULT_RULES, PostingError, PostingRules
from syncline.services.ledger.posting import POSTING_FAILED, post_entries, posting_problem
from syncline.services.messaging.exceptions import raise_exception, resolve
from syncline.services.messaging.outbox import last_seq, outbox_row

OPEN = tuple(s.value for s in OPEN_STATUSES)
SCALE = 10_000  # amounts and quantities are summed as exact integers of 1/10 000


@dataclass
class RunResult:
    period: str
    invoices: list[str] = field(default_factory=list)
    journal_entries: int = 0
    retainer_items: int = 0
    exceptions: int = 0
    dry_run: bool = False
    totals: dict[str, Decimal] = field(default_factory=dict)
    credit_notes: list[str] = field(default_factory=list)
    items_invoiced: int = 0
    held: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period, "dry_run": self.dry_run, "invoices": self.invoices,
            "credit_notes": self.credit_notes, "items_invoiced": self.items_invoiced,
            "journal_entries": self.journal_entries, "retainer_items": self.retainer_items,
            "held": self.held, "exceptions": self.exceptions,
            "problems": [{"code": p.code, "message": p.message, "remediation": p.remediation,
                          "objects": [list(o) for o in p.objects]} for p in self.problems],
            "totals": {k: str(v) for k, v in sorted(self.totals.items())},
        }


def month_bounds(period: str) -> tuple[date, date]:
    return period_start(period), period_end(period)


@dataclass(frozen=True)
class _Contract:
    number: str
    customer_name: str
    entity_code: str
    currency: str
    billing_type: str
    tax_profile: str
    payment_terms_days: int
    service_line: str
    start: date
    end: date
    correlation_id: str | None
    retainer_fee: Decimal | None
    timing: Timing
    included_hours: Decimal | None
    overage_rate: Decimal | None
    caps: tuple[Cap, ...]

    @property
    def drawdown(self) -> bool:
        return self.included_hours is not None

    @property
    def complex(self) -> bool:
        """Needs the item-by-item engine (caps, drawdown) rather than set-based lines."""
        return bool(self.caps) or self.drawdown


@dataclass
class _Run:
    conn: Connection
    ref: ReferenceData
    charts: Charts
    now: datetime
    start: date
    end: date
    period: str
    engine_mode: bool
    tax_codes: tuple[TaxCode, ...]
    fx: tuple[FxSnapshot, ...]
    result: RunResult
    rules: PostingRules = DEFAULT_RULES
    policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE  # posting into a closed period
    bulk: list[tuple[str, str, str]] = field(default_factory=list)  # contract, invoice, cur
    pending_invoices: list[dict[str, Any]] = field(default_factory=list)
    pending_lines: list[dict[str, Any]] = field(default_factory=list)
    pending_outbox: list[dict[str, Any]] = field(default_factory=list)
    pending_journals: list[tuple[int, JournalEntry]] = field(default_factory=list)  # outbox row
    _outbox_seq: int | None = None
    _unpostable: dict[tuple[str, str], list[str]] | None = None  # open, by object

    def problem(self, problem: Problem, correlation_id: str | None = None) -> None:
        """One open exception per problem, however often the cycle runs."""
        self.result.problems.append(problem)
        objects = json.dumps([list(o) for o in problem.objects])
        if self.conn.execute(select(exceptions.c.id).where(
                (exceptions.c.code == problem.code) & (exceptions.c.objects == objects)
                & (exceptions.c.message == problem.message)
                & (exceptions.c.status == "open"))).first():
            return
        raise_exception(self.conn, problem, now=self.now, correlation_id=correlation_id)
        self.result.exceptions += 1

    def emit(self, kind: str, payload: dict[str, Any], correlation_id: str | None) -> None:
        if self._outbox_seq is None:
            self._outbox_seq = last_seq(self.conn)
        self._outbox_seq += 1
        self.pending_outbox.append(outbox_row(self._outbox_seq, kind, "erp", payload,
                                              correlation_id=correlation_id, now=self.now))

    def journal(self, entry: JournalEntry, correlation_id: str | None) -> None:
        """Post ``entry`` at ``flush`` (batched), with its ``erp.journal.post`` outbox row
        in the place it would have had; the row is dropped if the entry is not stored."""
        self.emit("erp.journal.post", _journal_payload(entry), correlation_id)
        self.pending_journals.append((len(self.pending_outbox) - 1, entry))

    def unpostable(self, error: PostingError, *objects: tuple[str, str]) -> None:
        """A posting rule that cannot post this document: one finance exception."""
        self.problem(posting_problem(error, retry="re-run the billing cycle", objects=objects))

    def postable(self, obj: tuple[str, str]) -> None:
        """``obj`` (contract, invoice) journals now: its open rule failure resolves itself."""
        if self._unpostable is None:
            self._unpostable = defaultdict(list)
            for r in self.conn.execute(select(exceptions.c.id, exceptions.c.objects).where(
                    (exceptions.c.code == POSTING_FAILED) & (exceptions.c.status == "open"))):
                for o in json.loads(r.objects):
                    self._unpostable[(o[0], o[1])].append(r.id)
        for exc_id in self._unpostable.pop(obj, ()):
            resolve(self.conn, exc_id, now=self.now, actor="system", action="auto_resolve",
                    reason=f"{obj[0]} {obj[1]} journals with the current posting rules")

    def post_journals(self) -> None:
        """Post the batched journals in one go; keep outbox rows only for stored entries,
        numbered without gaps as if each had been posted on its own."""
        if not self.pending_journals:
            return
        outcomes = post_entries(self.conn, [e for _, e in self.pending_journals], self.now,
                                self.policy)
        dropped = {row for (row, _), out in zip(self.pending_journals, outcomes, strict=True)
                   if not out.stored}
        self.result.journal_entries += len(outcomes) - len(dropped)
        self.pending_journals.clear()
        if dropped and self.pending_outbox:
            first = int(self.pending_outbox[0]["seq"])
            kept = [r for i, r in enumerate(self.pending_outbox) if i not in dropped]
            for n, row in enumerate(kept):
                row["seq"] = first + n
            self.pending_outbox[:] = kept
            self._outbox_seq = first + len(kept) - 1

    def flush(self) -> None:
        """Write what the run batched: journals, invoices, their lines, then outbox rows."""
        self.post_journals()
        for table, rows in ((invoices, self.pending_invoices),
                            (invoice_lines, self.pending_lines),
                            (outbox, self.pending_outbox)):
            if rows:
                self.conn.execute(table.insert(), rows)
                rows.clear()


def _billing_problem(code: str, message: str, remediation: str, *objects: tuple[str, str],
                     severity: Severity = Severity.HIGH) -> Problem:
    return Problem(code=code, domain=BusinessDomain.BILLING, message=message,
                   remediation=remediation, severity=severity, objects=objects)


# --- loading ---------------------------------------------------------------------------------

def load_fx_rates(conn: Connection) -> tuple[FxSnapshot, ...]:
    return tuple(FxSnapshot(r.base, r.quote, r.rate, r.source, date.fromisoformat(r.as_of))
                 for r in conn.execute(select(fx_rates)))


def _contracts(conn: Connection, entity: str) -> dict[str, _Contract]:
    retainer_fee: dict[str, Decimal] = defaultdict(Decimal)
    for r in conn.execute(
            select(contracts.c.number, contract_lines.c.amount)
            .join(contract_lines, contract_lines.c.contract_id == contracts.c.id)
            .where((contracts.c.entity_code == entity)
                   & (contract_lines.c.kind == BillingType.RETAINER.value))):
        retainer_fee[r.number] += r.amount or Decimal(0)
    terms = {r.contract_number: r for r in conn.execute(
        select(contract_billing_terms).join(
            contracts, contracts.c.number == contract_billing_terms.c.contract_number)
        .where(contracts.c.entity_code == entity))}
    caps: dict[str, list[Cap]] = defaultdict(list)
    for c in conn.execute(select(billing_caps).join(
            contracts, contracts.c.number == billing_caps.c.contract_number)
            .where(contracts.c.entity_code == entity).order_by(billing_caps.c.cap_id)):
        caps[c.contract_number].append(Cap(
            c.cap_id, CapScope(c.scope), c.scope_key, Money(c.limit_amount, c.currency),
            CapKind(c.kind), c.tolerance))
    out: dict[str, _Contract] = {}
    for r in conn.execute(
            select(contracts, customers.c.name.label("customer_name"))
            .join(customers, customers.c.id == contracts.c.customer_id)
            .where(contracts.c.entity_code == entity).order_by(contracts.c.number)):
        t = terms.get(r.number)
        out[r.number] = _Contract(
            number=r.number, customer_name=r.customer_name, entity_code=r.entity_code,
            currency=r.currency, billing_type=r.billing_type, tax_profile=r.tax_profile,
            payment_terms_days=r.payment_terms_days, service_line=r.service_line,
            start=date.fromisoformat(r.start_date), end=date.fromisoformat(r.end_date),
            correlation_id=r.correlation_id, retainer_fee=retainer_fee.get(r.number),
            timing=Timing(t.retainer_timing) if t is not None else Timing.ARREARS,
            included_hours=t.included_hours if t is not None else None,
            overage_rate=t.overage_rate if t is not None else None,
            caps=tuple(caps.get(r.number, ())))
    return out


def item_from_row(r: Any) -> BillableItem:
    fx = None
    if r.fx_rate is not None and r.fx_base and r.fx_as_of:
        fx = FxSnapshot(r.fx_base, r.currency, r.fx_rate, r.fx_source or "",
                        date.fromisoformat(r.fx_as_of))
    return BillableItem(
        key=r.key, contract_number=r.contract_number, source=ItemSource(r.source),
        service_date=date.fromisoformat(r.service_date), description=r.description,
        quantity=r.quantity, unit_price=Money(r.unit_price, r.currency),
        amount=Money(r.amount, r.currency), rate_scope=r.rate_scope,
        status=ItemStatus(r.status), origin=r.origin or "", split_of=r.split_of,
        line_id=r.line_id or "", budget_id=r.budget_id or "", role=r.role or "", fx=fx,
        deferred=bool(r.deferred), adjusts=tuple(json.loads(r.adjusts or "[]")),
        invoice_number=r.invoice_number, rate_card=r.rate_card or "")


def item_row(item: BillableItem) -> dict[str, Any]:
    fx = item.fx
    return {
        "key": item.key, "contract_number": item.contract_number, "source": item.source.value,
        "service_date": item.service_date.isoformat(), "description": item.description,
        "quantity": item.quantity, "unit_price": item.unit_price.amount,
        "currency": item.amount.currency, "amount": item.amount.amount,
        "rate_scope": item.rate_scope, "status": item.status.value,
        "invoice_number": item.invoice_number, "origin": item.origin or None,
        "split_of": item.split_of, "line_id": item.line_id or None,
        "budget_id": item.budget_id or None, "role": item.role or None,
        "deferred": item.deferred, "adjusts": json.dumps(list(item.adjusts)) if item.adjusts
        else None, "rate_card": item.rate_card or None,
        "fx_base": fx.base if fx else None, "fx_rate": fx.rate if fx else None,
        "fx_source": fx.source if fx else None,
        "fx_as_of": fx.as_of.isoformat() if fx else None, "credit_note_number": None,
    }


def insert_items(conn: Connection, items: Iterable[BillableItem]) -> int:
    rows = [item_row(i) for i in items]
    if rows:
        conn.execute(billable_items.insert(), rows)
    return len(rows)


def load_invoice(conn: Connection, number: str) -> Invoice | None:
    r = conn.execute(select(invoices).where(invoices.c.number == number)).first()
    if r is None:
        return None
    lines = tuple(
        InvoiceLine(ln.description, ln.quantity, Money(ln.unit_price, r.currency),
                    Money(ln.amount, r.currency), tuple(json.loads(ln.item_keys)),
                    bool(ln.deferred))
        for ln in conn.execute(select(invoice_lines).where(
            invoice_lines.c.invoice_number == number).order_by(invoice_lines.c.line_no)))
    fx = None
    if r.fx_rate is not None and r.functional_currency and r.fx_as_of:
        fx = FxSnapshot(r.currency, r.functional_currency, r.fx_rate, r.fx_source or "",
                        date.fromisoformat(r.fx_as_of))
    return Invoice(
        number=r.number, entity_code=r.entity_code, contract_number=r.contract_number,
        customer_name=r.customer_name, currency=r.currency,
        invoice_date=date.fromisoformat(r.invoice_date), period=r.period, lines=lines,
        subtotal=Money(r.subtotal, r.currency), tax_code=r.tax_code, tax_rate=r.tax_rate,
        tax=Money(r.tax, r.currency), total=Money(r.total, r.currency),
        due_date=date.fromisoformat(r.due_date), service_line=r.service_line, fx=fx,
        notes=tuple(json.loads(r.notes or "[]")))


def load_credit_note(conn: Connection, number: str) -> CreditNote | None:
    r = conn.execute(select(credit_notes).where(credit_notes.c.number == number)).first()
    if r is None:
        return None
    lines = tuple(
        CreditLine(ln.description, ln.quantity, Money(ln.unit_price, r.currency),
                   Money(ln.amount, r.currency), tuple(json.loads(ln.item_keys)),
                   bool(ln.deferred))
        for ln in conn.execute(select(credit_note_lines).where(
            credit_note_lines.c.credit_note_number == number)
            .order_by(credit_note_lines.c.line_no)))
    return CreditNote(
        number=r.number, entity_code=r.entity_code, invoice_number=r.invoice_number,
        contract_number=r.contract_number, customer_name=r.customer_name,
        currency=r.currency, credit_date=date.fromisoformat(r.credit_date), reason=r.reason,
        lines=lines, subtotal=Money(r.subtotal, r.currency), tax_code=r.tax_code,
        tax_rate=r.tax_rate, tax=Money(r.tax, r.currency), total=Money(r.total, r.currency),
        service_line=r.service_line)


def _last_number(conn: Connection, entity: str, series: str) -> str | None:
    return conn.execute(select(number_series.c.last_number).where(
        (number_series.c.entity_code == entity) & (number_series.c.series == series))).scalar()


def _store_last_number(conn: Connection, entity: str, series: str, last: str) -> None:
    if _last_number(conn, entity, series) is None:
        conn.execute(number_series.insert().values(entity_code=entity, series=series,
                                                   last_number=last))
    else:
        conn.execute(update(number_series).where(
            (number_series.c.entity_code == entity) & (number_series.c.series == series))
            .values(last_number=last))


# --- 1. credits ------------------------------------------------------------------------------

def _credits(run: _Run, entity: LegalEntity) -> None:
    conn = run.conn
    pending = conn.execute(
        select(credit_requests).join(invoices,
                                     invoices.c.number == credit_requests.c.invoice_number)
        .where((credit_requests.c.status == "pending") & (invoices.c.entity_code == entity.code))
        .order_by(credit_requests.c.invoice_number, credit_requests.c.request_key)).all()
    if not pending:
        return
    drafts: list[tuple[Any, Invoice, CreditNote]] = []
    issued: dict[str, list[CreditNote]] = defaultdict(list)
    for n, req in enumerate(pending):
        invoice = load_invoice(conn, req.invoice_number)
        assert invoice is not None  # joined above
        on_invoice = [item_from_row(r) for r in conn.execute(select(billable_items).where(
            billable_items.c.invoice_number == invoice.number))]
        before = [c for c in (load_credit_note(conn, num) for num in conn.execute(
            select(credit_notes.c.number).where(
                credit_notes.c.invoice_number == invoice.number)).scalars()) if c is not None]
        note = credit_note(invoice, on_invoice, json.loads(req.item_keys),
                           number=f"draft-{n:06d}", credit_date=run.end, reason=req.reason,
                           credited_before=before + issued[invoice.number])
        if isinstance(note, CreditRefused):
            conn.execute(update(credit_requests).where(credit_requests.c.id == req.id)
                         .values(status="refused"))
            run.problem(note.problem())
            continue
        if posts_anything(note):
            made = credit_note_posting(note, run.charts.of(note.entity_code), fx=invoice.fx,
                                       all_deferred=run.engine_mode, rules=run.rules)
            if isinstance(made, PostingError):  # the request waits, pending, for a fix
                run.unpostable(made, ("invoice", invoice.number), ("entity", entity.code),
                               ("posting_rule", made.event))
                continue
            run.postable(("invoice", invoice.number))
        drafts.append((req, invoice, note))
        issued[invoice.number].append(note)
    numbering = assign_numbers(
        [DraftRef(d.number, entity.code, d.credit_date, d.number) for _, _, d in drafts],
        {entity.code: _last_number(conn, entity.code, "CN")}, series="CN")
    for req, invoice, draft in drafts:
        number = numbering.number_of(draft.number)
        assert number is not None  # credit dates are the cycle's end: never a year back
        note = replace(draft, number=number)
        _store_credit_note(conn, note)
        conn.execute(update(billable_items).where(billable_items.c.key.in_(note.item_keys))
                     .values(status=ItemStatus.CREDITED.value, credit_note_number=number))
        conn.execute(update(credit_requests).where(credit_requests.c.id == req.id)
                     .values(status="issued", credit_note_number=number))
        if posts_anything(note):
            entry = credit_note_posting(note, run.charts.of(note.entity_code), fx=invoice.fx,
                                        all_deferred=run.engine_mode, rules=run.rules)
            if isinstance(entry, PostingError):  # checked on the draft: not expected
                run.unpostable(entry, ("credit_note", number), ("entity", entity.code),
                               ("posting_rule", entry.event))
            else:
                run.journal(entry, None)
        run.emit("erp.invoice.post", {
            "document": "credit_note", "number": number, "invoice": invoice.number,
            "entity": entity.code, "contract": note.contract_number,
            "customer": note.customer_name, "currency": note.currency,
            "total": str(note.total.amount), "tax": str(note.tax.amount),
            "date": note.credit_date.isoformat(), "items": list(note.item_keys)}, None)
        run.result.credit_notes.append(number)
        if req.corrected_hours is not None:
            originals = [item_from_row(r) for r in conn.execute(select(billable_items).where(
                billable_items.c.key.in_(note.item_keys)
                & (billable_items.c.source == ItemSource.TIME.value)
                & billable_items.c.split_of.is_(None)))]
            for original in originals:
                fixed = replacement_item(original, quantity=req.corrected_hours,
                                         revision=req.revision)
                if conn.execute(select(billable_items.c.key).where(
                        billable_items.c.key == fixed.key)).first() is None:
                    insert_items(conn, [fixed])
    last = dict(numbering.last).get(entity.code)
    if last:
        _store_last_number(conn, entity.code, "CN", last)


def _store_credit_note(conn: Connection, note: CreditNote) -> None:
    conn.execute(credit_notes.insert().values(
        number=note.number, entity_code=note.entity_code, invoice_number=note.invoice_number,
        contract_number=note.contract_number, customer_name=note.customer_name,
        currency=note.currency, credit_date=note.credit_date.isoformat(), reason=note.reason,
        subtotal=note.subtotal.amount, tax_code=note.tax_code, tax_rate=note.tax_rate,
        tax=note.tax.amount, total=note.total.amount, service_line=note.service_line))
    conn.execute(credit_note_lines.insert(), [
        {"credit_note_number": note.number, "line_no": i, "description": ln.description,
         "quantity": ln.quantity, "unit_price": ln.unit_price.amount, "amount": ln.amount.amount,
         "deferred": ln.deferred, "item_keys": json.dumps(list(ln.item_keys))}
        for i, ln in enumerate(note.lines, 1)])


# --- 2. generate -----------------------------------------------------------------------------

def _retainers(run: _Run, terms: dict[str, _Contract]) -> None:
    due = [c for c in terms.values() if c.retainer_fee]
    if not due:
        return
    billed: dict[str, set[str]] = defaultdict(set)
    for r in run.conn.execute(select(billable_items.c.contract_number, billable_items.c.key)
                              .where((billable_items.c.source == ItemSource.RETAINER.value)
                                     & billable_items.c.contract_number.in_(
                                         [c.number for c in due]))):
        billed[r.contract_number].add(r.key)
    for c in due:
        assert c.retainer_fee is not None
        made = retainer_fees(
            RetainerTerms(c.number, Money(c.retainer_fee, c.currency), c.start, c.end,
                          c.timing), run.end, billed=billed[c.number])
        run.result.retainer_items += insert_items(run.conn, made)


def _drawdown_time(run: _Run, terms: dict[str, _Contract]) -> None:
    """Time on a drawdown retainer is billable (drawn down, overage at the retainer's rate):
    its items are generated here, priced at the overage rate before the drawdown."""
    drawdown = {c.number: c for c in terms.values() if c.drawdown}
    if not drawdown:
        return
    known = set(run.conn.execute(select(billable_items.c.key).where(
        billable_items.c.contract_number.in_(list(drawdown)))).scalars())
    known |= set(run.conn.execute(select(billable_items.c.origin).where(
        billable_items.c.contract_number.in_(list(drawdown))
        & billable_items.c.origin.is_not(None))).scalars())
    made = []
    for t in run.conn.execute(
            select(time_entries, contracts.c.number).join(
                projects, projects.c.code == time_entries.c.project_code)
            .join(contracts, contracts.c.id == projects.c.contract_id)
            .where(contracts.c.number.in_(list(drawdown))
                   & (time_entries.c.status == "approved") & time_entries.c.billable.is_(True)
                   & (time_entries.c.work_date <= run.end.isoformat()))
            .order_by(time_entries.c.time_entry_id)):
        c = drawdown[t.number]
        if f"time:{t.time_entry_id}" in known:
            continue
        rate = Money(c.overage_rate or 0, c.currency)
        made.append(time_item(t.time_entry_id, c.number, date.fromisoformat(t.work_date),
                              t.hours, t.role, rate, "retainer"))
    insert_items(run.conn, made)


# --- 3. select (set-based) -------------------------------------------------------------------

def _open_items(entity: str, end: date) -> Any:
    return and_(billable_items.c.status.in_(OPEN),
                or_(billable_items.c.service_date <= end.isoformat(),
                    billable_items.c.deferred.is_(True)),
                billable_items.c.contract_number == contracts.c.number,
                billable_items.c.currency == contracts.c.currency,
                contracts.c.entity_code == entity)


def _plain(value: Decimal) -> Decimal:
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]


_LINES_SQL = """
SELECT c, s, l, p, d, cur, SUM(q) AS q, SUM(a) AS a, {keys} AS keys FROM (
  SELECT b.contract_number AS c, b.source AS s,
         CASE WHEN b.source = 'time'
              THEN substr(b.description, 1, {find}(b.description, ' time ') - 1)
              ELSE b.description END AS l,
         b.unit_price AS p,
         b.deferred AS d, b.currency AS cur,
         {scaled_quantity} AS q, {scaled_amount} AS a, b.key AS k
  FROM billable_items AS b {not_indexed}
  WHERE b.status IN ('generated', 'released') AND (b.service_date <= :end OR b.deferred)
  {entity}) AS items
GROUP BY c, s, l, p, d, cur
"""

Lines = dict[str, list[tuple[tuple[str, str, bool, Decimal], InvoiceLine]]]


def _aggregate_lines(run: _Run, entity: str | None, currency_of: dict[str, str]) -> Lines:
    """Open items grouped into invoice lines (``group_lines``'s rule) in one SQL pass over
    the item table: one scan for the whole run, not one per contract or entity. Items in
    another currency than their contract's are problems, left out."""
    conn = run.conn
    sqlite = conn.dialect.name == "sqlite"
    sql = _LINES_SQL.format(
        keys="json_group_array(k)" if sqlite else "json_agg(k)::text",
        find="instr" if sqlite else "strpos", not_indexed="NOT INDEXED" if sqlite else "",
        **{f"scaled_{c}": (f"CAST(ROUND(b.{c} * 10000) AS INTEGER)" if sqlite else
                           f"CAST(ROUND(CAST(b.{c} AS NUMERIC) * 10000) AS BIGINT)")
           for c in ("quantity", "amount")},
        entity="AND b.contract_number IN (SELECT number FROM contracts "
               "WHERE entity_code = :entity)" if entity else "")
    params: dict[str, Any] = {"end": run.end.isoformat()}
    if entity:
        params["entity"] = entity
    merged: dict[str, dict[tuple[str, str, bool, Decimal], list[Any]]] = defaultdict(dict)
    wrong: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in conn.execute(text(sql), params):
        if r.c not in currency_of:
            continue  # a contract of no legal entity in this run
        if r.cur != currency_of[r.c]:
            wrong[(r.c, r.cur)].extend(json.loads(r.keys))
            continue
        lbl = line_label(r.s, r.l if r.s != ItemSource.TIME.value else f"{r.l} time ")
        price = Decimal(str(r.p))
        k = (r.s, lbl, bool(r.d), price.normalize())
        item_keys = json.loads(r.keys)
        if k in merged[r.c]:  # same line: labels differing by case, prices by zeros
            prev = merged[r.c][k]
            prev[1] += int(r.q)
            prev[2] += int(r.a)
            prev[3] += item_keys
        else:
            merged[r.c][k] = [price, int(r.q), int(r.a), item_keys, r.cur]
    for (contract, cur), keys in sorted(wrong.items()):
        run.problem(_billing_problem(
            "billing.item_currency", f"{len(keys)} item(s) of contract {contract} are in "
            f"{cur}, the contract bills in {currency_of[contract]} (first: {min(keys)})",
            "Correct the items' source records (rate card or expense), then re-run the cycle.",
            ("contract", contract), ("item", min(keys))))
    out: Lines = {}
    for contract, groups in merged.items():
        lines = []
        for k, (price, q, a, item_keys, cur) in sorted(groups.items()):
            amount = Money(Decimal(a) / SCALE, cur).rounded()
            lines.append((k, InvoiceLine(k[1], _plain(Decimal(q) / SCALE), Money(price, cur),
                                         amount, tuple(sorted(item_keys)), k[2])))
        out[contract] = lines
    return out


def _blocked(run: _Run, c: _Contract, entity: LegalEntity) -> Problem | tuple[TaxCode,
                                                                             FxSnapshot]:
    tax = next((t for t in run.tax_codes if t.code == c.tax_profile), None)
    if tax is None:
        return TaxCodeMissing(c.tax_profile, c.number).problem()
    fx = lookup_rate(run.fx, base=c.currency, quote=entity.functional_currency, on=run.end)
    if isinstance(fx, FxRateMissing):
        return fx.problem(("contract", c.number))
    return tax, fx


# --- 4. caps and drawdown (item by item, pure engine) ----------------------------------------

def _replace_items(conn: Connection, old: Sequence[BillableItem],
                   new: Sequence[BillableItem]) -> None:
    before = {i.key: i for i in old}
    after = {i.key: i for i in new}
    gone = [k for k in before if k not in after or after[k] != before[k]]
    for start in range(0, len(gone), 500):
        conn.execute(delete(billable_items).where(
            billable_items.c.key.in_(gone[start:start + 500])))
    insert_items(conn, [i for k, i in after.items() if k not in before or before[k] != i])


def _item_by_item(run: _Run, c: _Contract) -> tuple[list[BillableItem], list[HeldItem]]:
    conn = run.conn
    items = [item_from_row(r) for r in conn.execute(
        select(billable_items).join(contracts,
                                    contracts.c.number == billable_items.c.contract_number)
        .where(_open_items(c.entity_code, run.end)
               & (billable_items.c.contract_number == c.number))
        .order_by(billable_items.c.key))]
    candidates = list(items)
    if c.drawdown:
        terms = RetainerTerms(c.number, Money(c.retainer_fee or 0, c.currency), c.start, c.end,
                              c.timing, c.included_hours,
                              Money(c.overage_rate, c.currency) if c.overage_rate else None)
        time = [i for i in candidates if i.source is ItemSource.TIME
                and not i.rate_scope.startswith("retainer ")]
        candidates = [i for i in candidates if i not in time]
        by_month: dict[date, list[BillableItem]] = defaultdict(list)
        for i in time:
            by_month[month_start(i.service_date)].append(i)
        for month, month_items in sorted(by_month.items()):
            used = sum((r.quantity for r in conn.execute(
                select(billable_items.c.quantity, billable_items.c.service_date).where(
                    (billable_items.c.contract_number == c.number)
                    & (billable_items.c.rate_scope == "retainer drawdown")
                    & billable_items.c.status.not_in(OPEN)
                    & (billable_items.c.service_date >= month.isoformat())
                    & (billable_items.c.service_date <= month_end(month).isoformat())))),
                Decimal(0))
            candidates.extend(draw_down(terms, month_items, hours_used_before=used).items)
    held: tuple[HeldItem, ...] = ()
    billable = candidates
    if c.caps:
        caps = {r.cap_id: Money(r.billed, r.currency) for r in conn.execute(
            select(billing_caps).where(billing_caps.c.contract_number == c.number))}
        approved = set(conn.execute(select(billing_holds.c.item_key).where(
            (billing_holds.c.contract_number == c.number)
            & (billing_holds.c.status == "approved"))).scalars())
        capped = apply_caps(candidates, c.caps, billed_to_date=caps, approved=approved)
        billable, held = list(capped.billable), capped.held
        for cap_id, consumed in capped.consumed:
            conn.execute(update(billing_caps).where(billing_caps.c.cap_id == cap_id)
                         .values(billed=consumed.amount))
        for h in held:
            row = {"cap_id": h.cap_id, "contract_number": c.number,
                   "amount": h.item.amount.amount, "currency": h.item.amount.currency,
                   "reason": h.reason, "held_in": run.period, "status": "held"}
            if conn.execute(select(billing_holds.c.item_key).where(
                    billing_holds.c.item_key == h.item.key)).first() is None:
                conn.execute(billing_holds.insert().values(item_key=h.item.key, **row))
            run.result.held.append(h.item.key)
        billed_keys = [i.key for i in billable if i.key in approved]
        if billed_keys:
            conn.execute(update(billing_holds).where(billing_holds.c.item_key.in_(billed_keys))
                         .values(status="billed"))
    _replace_items(conn, items, [*billable, *(h.item for h in held)])
    return billable, list(held)


# --- 5. invoice ------------------------------------------------------------------------------

def _journal_payload(entry: Any) -> dict[str, Any]:
    return {"source": f"{entry.source_type}:{entry.source_id}", "entity": entry.entity_id,
            "lines": [[ln.account, ln.side.value, str(ln.amount.amount), ln.amount.currency]
                      for ln in entry.lines]}


def _store_invoice(run: _Run, inv: Invoice, functional_currency: str) -> None:
    run.pending_invoices.append(dict(
        number=inv.number, entity_code=inv.entity_code, contract_number=inv.contract_number,
        customer_name=inv.customer_name, currency=inv.currency,
        invoice_date=inv.invoice_date.isoformat(), period=inv.period,
        subtotal=inv.subtotal.amount, tax_code=inv.tax_code, tax_rate=inv.tax_rate,
        tax=inv.tax.amount, total=inv.total.amount, due_date=inv.due_date.isoformat(),
        service_line=inv.service_line, status="released",
        functional_currency=functional_currency,
        fx_rate=inv.fx.rate if inv.fx else None, fx_source=inv.fx.source if inv.fx else None,
        fx_as_of=inv.fx.as_of.isoformat() if inv.fx else None,
        notes=json.dumps(list(inv.notes)) if inv.notes else None))
    run.pending_lines.extend([
        {"invoice_number": inv.number, "line_no": i, "description": ln.description,
         "quantity": ln.quantity, "unit_price": ln.unit_price.amount, "amount": ln.amount.amount,
         "item_keys": json.dumps(list(ln.item_keys)), "deferred": ln.deferred}
        for i, ln in enumerate(inv.lines, 1)])


def _mark_invoiced(run: _Run, done: Sequence[tuple[str, str, str]]) -> None:
    """Items of the aggregated contracts move to invoiced in bulk, with the aggregation's
    predicate. SQLite: one UPDATE scanning the item table once, the invoice number looked
    up per row in a temporary map; elsewhere one UPDATE per contract, as a batch."""
    if not done:
        return
    conn = run.conn
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS billing_run_map (contract TEXT, "
                             "cur TEXT, inv TEXT, PRIMARY KEY (contract, cur))")
        conn.exec_driver_sql("DELETE FROM billing_run_map")
        conn.execute(text("INSERT INTO billing_run_map VALUES (:c, :cur, :inv)"),
                     [{"c": c, "inv": inv, "cur": cur} for c, inv, cur in done])
        conn.execute(text(
            "UPDATE billable_items NOT INDEXED SET status = 'invoiced', invoice_number = m.inv"
            " FROM billing_run_map AS m WHERE m.contract = billable_items.contract_number"
            " AND m.cur = billable_items.currency AND billable_items.status IN"
            " ('generated', 'released') AND (billable_items.service_date <= :end"
            " OR billable_items.deferred)"), {"end": run.end.isoformat()})
        conn.exec_driver_sql("DELETE FROM billing_run_map")
        return
    conn.execute(
        update(billable_items)
        .where((billable_items.c.contract_number == bindparam("c"))
               & or_(*(billable_items.c.status == s for s in OPEN))
               & or_(billable_items.c.service_date <= run.end.isoformat(),
                     billable_items.c.deferred.is_(True))
               & (billable_items.c.currency == bindparam("cur")))
        .values(status=ItemStatus.INVOICED.value, invoice_number=bindparam("inv")),
        [{"c": c, "inv": inv, "cur": cur} for c, inv, cur in done])


def _invoice_entity(run: _Run, entity: LegalEntity, terms: dict[str, _Contract],
                    lines_of: Lines) -> None:
    conn = run.conn
    done = set(conn.execute(select(invoices.c.contract_number).where(
        (invoices.c.period == run.period) & (invoices.c.entity_code == entity.code))).scalars())
    ready: dict[str, tuple[list[InvoiceLine], TaxCode, FxSnapshot, tuple[str, ...]]] = {}
    bulk: list[str] = []  # contracts whose items move to invoiced set-based
    pure_items: dict[str, list[BillableItem]] = {}
    for number in sorted(n for n in lines_of if n in terms):
        c = terms[number]
        if number in done:
            continue  # already invoiced this period: late items wait for the next cycle
        blocked = _blocked(run, c, entity)
        if isinstance(blocked, Problem):
            run.problem(blocked, c.correlation_id)
            continue
        tax, fx = blocked
        if c.complex:
            billable, held = _item_by_item(run, c)
            if not billable:
                continue
            pure_items[number] = billable
            lines = list(group_lines(billable))
            notes = tuple(f"Held for approval: {h.item.description} — {h.reason}"
                          for h in held)
        else:
            lines = [ln for _, ln in lines_of[number]]
            bulk.append(number)
            notes = ()
        ready[number] = (lines, tax, fx, notes)
    for number in sorted(ready):  # a release the posting rules cannot journal: left out whole
        trial = _invoice(run, entity, terms[number], ready[number], f"draft:{number}")
        if posts_anything(trial):
            made = release_posting(trial, run.charts.of(entity.code),
                                   all_deferred=run.engine_mode, rules=run.rules)
            if isinstance(made, PostingError):
                run.unpostable(made, ("contract", number), ("entity", entity.code),
                               ("posting_rule", made.event))
                del ready[number]
                continue
        run.postable(("contract", number))
    numbering = assign_numbers([DraftRef(n, entity.code, run.end, n) for n in sorted(ready)],
                               {entity.code: _last_number(conn, entity.code, "")})
    for draft, reason in numbering.refused:
        run.problem(_billing_problem(
            "billing.numbering_refused", f"contract {draft}: {reason}",
            "Re-date the invoice into the entity's current numbering year, then re-run.",
            ("contract", draft)))
    issued: dict[str, str] = {}
    for number in sorted(ready):
        invoice_number = numbering.number_of(number)
        if invoice_number is None:
            continue
        c = terms[number]
        lines = ready[number][0]
        inv = _invoice(run, entity, c, ready[number], invoice_number)
        _store_invoice(run, inv, entity.functional_currency)
        issued[number] = invoice_number
        if posts_anything(inv):
            entry = release_posting(inv, run.charts.of(inv.entity_code),
                                    all_deferred=run.engine_mode, rules=run.rules)
            if isinstance(entry, PostingError):  # checked on the draft: not expected
                run.unpostable(entry, ("invoice", invoice_number), ("entity", entity.code),
                               ("posting_rule", entry.event))
            else:
                run.journal(entry, c.correlation_id)
        run.emit("erp.invoice.post", {
            "number": inv.number, "entity": inv.entity_code, "contract": inv.contract_number,
            "customer": inv.customer_name, "currency": inv.currency,
            "total": str(inv.total.amount), "tax": str(inv.tax.amount),
            "date": inv.invoice_date.isoformat(), "due": inv.due_date.isoformat()},
            c.correlation_id)
        run.result.invoices.append(invoice_number)
        run.result.totals[inv.currency] = run.result.totals.get(inv.currency, Decimal(0)) + \
            inv.total.amount
        run.result.items_invoiced += sum(len(ln.item_keys) for ln in lines)
    # items move generated → released → invoiced: set-based for the aggregated contracts
    run.bulk.extend((n, issued[n], terms[n].currency) for n in bulk if n in issued)
    for number, items in pure_items.items():
        if number in issued:
            keys = [i.key for i in items]
            for start in range(0, len(keys), 500):
                conn.execute(update(billable_items).where(
                    billable_items.c.key.in_(keys[start:start + 500])).values(
                    status=ItemStatus.INVOICED.value, invoice_number=issued[number]))
    last = dict(numbering.last).get(entity.code)
    if last:
        _store_last_number(conn, entity.code, "", last)


def _invoice(run: _Run, entity: LegalEntity, c: _Contract,
             ready: tuple[list[InvoiceLine], TaxCode, FxSnapshot, tuple[str, ...]],
             number: str) -> Invoice:
    """The invoice of contract ``c`` from its ready lines, tax code, FX and held notes."""
    lines, tax, fx, held_notes = ready
    subtotal = Money(sum((ln.amount.amount for ln in lines), Decimal(0)), c.currency)
    taxed = compute_tax(subtotal, tax)
    return invoice_from_lines(
        number=number, entity_code=entity.code, contract_number=c.number,
        customer_name=c.customer_name, currency=c.currency, invoice_date=run.end,
        period=run.period, lines=lines, tax_code=tax.code, tax_rate=taxed.rate,
        payment_terms_days=c.payment_terms_days, service_line=c.service_line,
        fx=None if fx.base == fx.quote else fx,
        notes=((taxed.note,) if taxed.note else ()) + held_notes)


# --- labor cost ------------------------------------------------------------------------------

def _labor_cost(run: _Run, entity: str | None) -> int:
    """Cost approved time at the HR cost rate effective on each work date, per entity and
    cost currency, by rule ``billing.labor_cost``; posted in one batch."""
    conn, start, end = run.conn, run.start, run.end
    versions: dict[str, list[Any]] = defaultdict(list)
    for v in conn.execute(select(worker_versions).order_by(worker_versions.c.effective_date,
                                                           worker_versions.c.sequence)):
        versions[v.worker_id].append(v)
    cost: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for t in conn.execute(select(time_entries.c.worker_id, time_entries.c.work_date,
                                 time_entries.c.hours).where(
            (time_entries.c.status == "approved")
            & (time_entries.c.work_date >= start.isoformat())
            & (time_entries.c.work_date <= end.isoformat()))):
        effective = [v for v in versions[t.worker_id] if v.effective_date <= t.work_date]
        if not effective:
            continue
        v = effective[-1]
        if entity and v.entity_code != entity:
            continue
        cost[(v.entity_code, v.cost_currency)] += t.hours * v.cost_rate
    entries: list[JournalEntry] = []
    for (ent, cur), amount in sorted(cost.items()):
        money = Money(amount, cur).rounded()
        if money.is_zero:
            continue
        # one entry per entity and currency, keyed so a re-run posts nothing new
        made = labor_cost_posting(ent, end, f"{start:%Y-%m}", money, run.charts.of(ent),
                                  rules=run.rules)
        if isinstance(made, PostingError):
            run.unpostable(made)
            continue
        entries.append(made)
    return sum(out.stored for out in post_entries(conn, entries, run.now, run.policy))


# --- the run ---------------------------------------------------------------------------------

def run_billing(engine: Engine, period: str, ref: ReferenceData,
                chart: Charts | ChartOfAccounts, now: datetime, *,
                entity: str | None = None, dry_run: bool = False,
                revenue_recognition: str = "on_invoice", labor_cost: bool = True,
                rules: PostingRules = DEFAULT_RULES,
                closed_period_policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE,
                ) -> RunResult:
    """The invoice run for ``period`` (YYYY-MM), every legal entity or ``entity`` only;
    journals post in each entity's own chart (``chart``: charts by entity, or one template)
    by ``rules`` (invoice release, credit note, labor cost; a firm's from its ledger
    configuration). A document its rule cannot journal is left for the next run and opens
    one finance exception; the rest of the run goes on."""
    charts = as_charts(chart)
    start, end = month_bounds(period)
    result = RunResult(period=period, dry_run=dry_run)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # a run rewrites many item pages: cache them
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
            conn.commit()
        tx = conn.begin()
        run = _Run(conn, ref, charts, now, start, end, period,
                   engine_mode=revenue_recognition == "engine",
                   tax_codes=tuple(tax_code_from_profile(p) for p in ref.tax_profiles),
                   fx=load_fx_rates(conn), result=result, rules=rules,
                   policy=closed_period_policy)
        codes = [entity] if entity else sorted(set(conn.execute(
            select(contracts.c.entity_code).distinct()).scalars()))
        entities: list[tuple[LegalEntity, dict[str, _Contract]]] = []
        for code in codes:
            legal = ref.entity(code)
            if legal is None:
                run.problem(_billing_problem(
                    "billing.unknown_entity", f"legal entity {code!r} is not configured",
                    "Use an ERP legal entity code (e.g. US01) for the run.",
                    ("entity", code)))
                continue
            terms = _contracts(conn, code)
            _credits(run, legal)
            _retainers(run, terms)
            _drawdown_time(run, terms)
            entities.append((legal, terms))
        currency_of = {n: c.currency for _, terms in entities for n, c in terms.items()}
        lines_of = _aggregate_lines(run, entity, currency_of)
        for legal, terms in entities:
            _invoice_entity(run, legal, terms, lines_of)
        _mark_invoiced(run, run.bulk)
        run.flush()
        if labor_cost:
            result.journal_entries += _labor_cost(run, entity)
        if dry_run:
            tx.rollback()
        else:
            tx.commit()
    return result


__all__ = ["RunResult", "item_from_row", "item_row", "load_credit_note", "load_invoice",
           "month_bounds", "run_billing"]
