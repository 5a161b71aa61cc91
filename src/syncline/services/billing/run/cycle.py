"""One billing run's context: its connection, reference data, charts, rates and result, and
the writes it batches — invoices, their lines, journals and outbox rows — until ``flush``.

Problems open one exception each however often the cycle runs. Journals reach the ERP as
period summaries (services/ledger/erp_journals.py), not one outbox row each; invoices and
credit notes reach it as whole documents (``erp.invoice.post``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import exceptions, invoice_lines, invoices, outbox
from syncline.billing.fx import FxSnapshot
from syncline.billing.tax import TaxCode
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.domain.reference import ReferenceData
from syncline.ledger.accounts import Charts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import ClosedPeriodPolicy
from syncline.ledger.posting import DEFAULT_RULES, PostingError, PostingRules
from syncline.services.ledger.posting import POSTING_FAILED, post_entries, posting_problem
from syncline.services.messaging.exceptions import raise_exception, resolve
from syncline.services.messaging.outbox import last_seq, outbox_row

__all__ = ["Run", "RunResult", "billing_problem"]


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
    # what the run issued or would issue, for a reader (CLI, API): JSON-ready dicts
    invoice_details: list[dict[str, Any]] = field(default_factory=list)
    credit_note_details: list[dict[str, Any]] = field(default_factory=list)
    held_items: list[dict[str, Any]] = field(default_factory=list)
    write_offs: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The run's outcome; ``invoice_details`` (number, contract, customer, date, currency,
        subtotal, tax, total, lines), ``credit_note_details``, ``held_items`` (at a hard cap,
        with the cap and reason) and ``write_offs`` (soft-cap adjustments on the invoices)
        say what a dry run would issue."""
        return {
            "period": self.period, "dry_run": self.dry_run, "invoices": self.invoices,
            "credit_notes": self.credit_notes, "items_invoiced": self.items_invoiced,
            "journal_entries": self.journal_entries, "retainer_items": self.retainer_items,
            "held": self.held, "exceptions": self.exceptions,
            "problems": [{"code": p.code, "message": p.message, "remediation": p.remediation,
                          "objects": [list(o) for o in p.objects]} for p in self.problems],
            "totals": {k: str(v) for k, v in sorted(self.totals.items())},
            "invoice_details": self.invoice_details,
            "credit_note_details": self.credit_note_details,
            "held_items": self.held_items, "write_offs": self.write_offs,
        }


@dataclass
class Run:
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
    pending_journals: list[JournalEntry] = field(default_factory=list)
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
        """Post ``entry`` at ``flush`` (batched)."""
        self.pending_journals.append(entry)

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
        """Post the batched journals in one go."""
        if not self.pending_journals:
            return
        outcomes = post_entries(self.conn, self.pending_journals, self.now, self.policy)
        self.result.journal_entries += sum(1 for out in outcomes if out.stored)
        self.pending_journals.clear()

    def flush(self) -> None:
        """Write what the run batched: journals, invoices, their lines, then outbox rows."""
        self.post_journals()
        for table, rows in ((invoices, self.pending_invoices),
                            (invoice_lines, self.pending_lines),
                            (outbox, self.pending_outbox)):
            if rows:
                self.conn.execute(table.insert(), rows)
                rows.clear()


def billing_problem(code: str, message: str, remediation: str, *objects: tuple[str, str],
                    severity: Severity = Severity.HIGH) -> Problem:
    return Problem(code=code, domain=BusinessDomain.BILLING, message=message,
                   remediation=remediation, severity=severity, objects=objects)
