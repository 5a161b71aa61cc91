"""Cost of expenses not rebilled: each approved expense that bills no item (approved as not
billable, or on a contract whose policy is ``not_billable``), incurred on or before the
cycle's end, is journaled once by rule ``billing.expense_cost`` (source type
``expense_cost``, source id the expense id) in its contract's legal entity, converted to the
entity's functional currency at the rate of the day incurred, dated the run's period end —
the month it was incurred when it arrives in time, else the open month in which it is
recorded. An expense rejected after its cost was posted is taken back the same way
(``<expense id>:reversal``, the posted amount). A missing rate is a finance problem of the
run, retried by the next one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from syncline.adapters.db.billing_tables import expenses
from syncline.adapters.db.tables import billable_items, contracts, journal_entries, journal_lines
from syncline.billing.expenses import ApprovedExpense, expense_cost_posting
from syncline.billing.fx import FxRateMissing, convert, lookup_rate
from syncline.ledger.journal import JournalEntry, Side
from syncline.ledger.money import Money
from syncline.ledger.posting import PostingError
from syncline.services.billing.run.cycle import Run
from syncline.services.ledger.posting import post_entries

__all__ = ["SOURCE_TYPE", "post_expense_cost"]

SOURCE_TYPE = "expense_cost"


def _posted(run: Run) -> dict[str, Money]:
    """Expense cost entries already in the books: source id → the cost they debited."""
    out: dict[str, Money] = {}
    for r in run.conn.execute(
            select(journal_entries.c.source_id, journal_lines.c.amount,
                   journal_lines.c.currency)
            .join(journal_lines, journal_lines.c.entry_id == journal_entries.c.id)
            .where((journal_entries.c.source_type == SOURCE_TYPE)
                   & (journal_lines.c.side == Side.DEBIT.value))):
        out[r.source_id] = out.get(r.source_id, Money.zero(r.currency)) + Money(
            Decimal(r.amount), r.currency)
    return out


def post_expense_cost(run: Run, entity: str | None) -> int:
    """Journal the cost of the expenses not rebilled (see the module doc); returns the
    entries stored."""
    conn = run.conn
    q = (select(expenses, contracts.c.entity_code)
         .join(contracts, contracts.c.number == expenses.c.contract_number)
         .where(expenses.c.incurred_on <= run.end.isoformat())
         .where(~select(billable_items.c.key).where(
             billable_items.c.key == "expense:" + expenses.c.expense_id).exists())
         .order_by(expenses.c.expense_id))
    if entity:
        q = q.where(contracts.c.entity_code == entity)
    rows = conn.execute(q).all()
    if not rows:
        return 0
    posted = _posted(run)
    entries: list[JournalEntry] = []
    for r in rows:
        approved = r.status == "approved"
        if (r.expense_id in posted) == approved or f"{r.expense_id}:reversal" in posted:
            continue  # posted and still approved, or never posted, or already taken back
        legal = run.ref.entity(r.entity_code)
        if legal is None:
            continue  # the run reports the unknown entity
        incurred = date.fromisoformat(r.incurred_on)
        expense = ApprovedExpense(r.expense_id, r.contract_number, incurred, r.category,
                                  r.description, Money(r.amount, r.currency), bool(r.billable))
        if approved:
            fx = lookup_rate(run.fx, base=r.currency, quote=legal.functional_currency,
                             on=incurred)
            if isinstance(fx, FxRateMissing):
                run.problem(fx.problem(("expense", r.expense_id), ("entity", r.entity_code)))
                continue
            cost = convert(expense.amount, fx)
        else:
            cost = posted[r.expense_id]
        made = expense_cost_posting(r.entity_code, run.end, expense, cost,
                                    run.charts.of(r.entity_code), rules=run.rules,
                                    reversal=not approved)
        if isinstance(made, PostingError):
            run.unpostable(made, ("expense", r.expense_id), ("entity", r.entity_code))
            continue
        entries.append(made)
    return sum(out.stored for out in post_entries(conn, entries, run.now, run.policy))
