"""Billing flows: credit notes for time rejected after invoicing, expenses, billing terms.

`HANDLERS` here replaces the core handler of the same type (see `handlers._all_handlers`):

- ``expense.approved`` — records the expense and, by the contract's expense policy (at cost,
  with markup, not billable), its billable item with the FX snapshot of the day incurred; a
  currency without an FX rate is a billing exception with remediation;
- ``expense.rejected`` — reverses an expense (a credit request when already invoiced);
- ``deal.closed_won`` — the core flow, plus the deal's optional ``billing_terms`` (expense
  policy, retainer timing and drawdown, not-to-exceed caps).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, or_, select, update

from syncline.adapters.db.billing_tables import (
    billing_caps,
    billing_holds,
    contract_billing_terms,
    expenses,
    fx_rates,
    rate_card_entries,
    rate_cards,
)
from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    customers,
    inbox,
    projects,
    time_entries,
)
from syncline.billing.expenses import (
    ApprovedExpense,
    ExpensePolicy,
    ExpenseTerms,
    NotBillable,
    expense_item,
)
from syncline.billing.fx import FxRateMissing
from syncline.billing.items import ItemStatus, price
from syncline.billing.rates import RateCard, RateNotFound, Scope, billed_quantity, parse_rate_card
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.domain.model import BillingType
from syncline.ledger.money import Money, is_known_currency
from syncline.services.billing_reversal import reverse_origin
from syncline.services.billing_run import load_fx_rates
from syncline.services.exceptions import raise_exception
from syncline.services.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.unit_of_work import Batch, Handler, load_cards

# --- expenses --------------------------------------------------------------------------------

def _expense_terms(conn: Connection, contract_number: str) -> ExpenseTerms:
    t = conn.execute(select(contract_billing_terms).where(
        contract_billing_terms.c.contract_number == contract_number)).first()
    if t is None:
        return ExpenseTerms()
    return ExpenseTerms(ExpensePolicy(t.expense_policy), t.markup_percent)


def record_expense(b: Batch, data: Mapping[str, Any]) -> Outcome:
    expense_id = str(data["expense_id"])
    objects = (("expense", expense_id), ("project", str(data["project_code"])))
    if b.conn.execute(select(expenses.c.expense_id).where(
            expenses.c.expense_id == expense_id)).first():
        return Applied(note="expense already recorded (idempotent)")
    if data.get("approval_status", "approved") != "approved":
        return Failed((Problem(
            "expense.not_approved", BusinessDomain.PMO,
            f"expense {expense_id} has approval status {data['approval_status']!r}; only "
            "approved expenses are billed", "Have the project manager approve (or reject) the "
            "expense report in the PSA.", "data.approval_status", objects=objects),))
    found = b.project(str(data["project_code"]))
    if found is None:
        return Parked(Missing(f"project:{data['project_code']}",
                              f"project {data['project_code']} is not provisioned yet"))
    proj, _ = found
    money = data["amount"]
    if not is_known_currency(money["currency"]):
        return Failed((Problem(
            "expense.unknown_currency", BusinessDomain.BILLING,
            f"expense {expense_id} is in {money['currency']!r}, not an ISO 4217 currency",
            "Correct the receipt currency in the PSA expense report and re-approve.",
            "data.amount.currency", objects=objects),))
    amount = Money.of(money["amount"], money["currency"])
    incurred = date.fromisoformat(data["incurred_on"])
    expense = ApprovedExpense(
        expense_id=expense_id, contract_number=proj.number, incurred_on=incurred,
        category=str(data["category"]), description=str(data.get("description") or
                                                         data["category"]),
        amount=amount, billable=bool(data.get("billable", True)))
    made = expense_item(expense, _expense_terms(b.conn, proj.number),
                        contract_currency=proj.currency,
                        rates=load_fx_rates(b.conn))
    if isinstance(made, FxRateMissing):
        return Failed((made.problem(("expense", expense_id), ("contract", proj.number)),))
    b.conn.execute(expenses.insert().values(
        expense_id=expense_id, worker_id=str(data["worker_id"]),
        project_code=str(data["project_code"]), contract_number=proj.number,
        incurred_on=incurred.isoformat(), category=expense.category,
        description=expense.description, amount=amount.amount, currency=amount.currency,
        billable=expense.billable, status="approved", inbox_id=b.inbox_id))
    if isinstance(made, NotBillable):
        return Applied(note=made.reason, provides=(f"expense:{expense_id}",))
    from syncline.services.billing_run import insert_items

    insert_items(b.conn, [made])
    return Applied(provides=(f"expense:{expense_id}",))


def reverse_expense(b: Batch, data: Mapping[str, Any]) -> Outcome:
    expense_id = str(data["expense_id"])
    row = b.conn.execute(select(expenses.c.status).where(
        expenses.c.expense_id == expense_id)).first()
    if row is None:
        return Parked(Missing(f"expense:{expense_id}",
                              f"expense {expense_id} has not been approved here yet"))
    if row.status == "rejected":
        return Applied(note="already rejected")
    b.conn.execute(update(expenses).where(expenses.c.expense_id == expense_id)
                   .values(status="rejected"))
    reason = f"expense {expense_id} rejected: {data.get('reason') or 'rejected'}"
    invoiced = reverse_origin(b.conn, f"expense:{expense_id}", reason, now=b.now,
                              inbox_id=b.inbox_id)
    return Applied(note=f"credit requested on {', '.join(invoiced)}" if invoiced else "")


# --- billing terms on the deal ---------------------------------------------------------------

def parse_terms(number: str, currency: str, terms: Mapping[str, Any]
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The deal's ``billing_terms`` as rows; ValueError / KeyError when they are invalid."""
    expense = terms.get("expenses") or {}
    retainer = terms.get("retainer") or {}
    timing = str(retainer.get("timing", "arrears"))
    if timing not in ("advance", "arrears"):
        raise ValueError(f"retainer timing {timing!r} is not advance or arrears")
    row = {
        "contract_number": number,
        "expense_policy": ExpensePolicy(expense.get("policy", "at_cost")).value,
        "markup_percent": Decimal(str(expense.get("markup_percent", "0"))),
        "retainer_timing": timing,
        "included_hours": Decimal(str(retainer["included_hours"]))
        if retainer.get("included_hours") is not None else None,
        "overage_rate": Decimal(str(retainer["overage_rate"]))
        if retainer.get("overage_rate") is not None else None}
    caps = []
    for i, cap in enumerate(terms.get("caps") or (), 1):
        scope, kind = str(cap.get("scope", "contract")), str(cap.get("kind", "hard"))
        if scope not in ("contract", "budget", "line") or kind not in ("soft", "hard"):
            raise ValueError(f"cap {i}: scope {scope!r} / kind {kind!r} unknown")
        caps.append({
            "cap_id": str(cap.get("cap_id") or f"NTE-{number}-{i}"), "contract_number": number,
            "scope": scope, "scope_key": str(cap.get("scope_key") or number),
            "limit_amount": Decimal(str(cap["limit"])), "currency": currency, "kind": kind,
            "tolerance": Decimal(str(cap.get("tolerance", "0"))), "billed": Decimal(0)})
    return row, caps


def open_contract_with_terms(b: Batch, data: Mapping[str, Any]) -> Outcome:
    from syncline.services.handlers import open_contract

    terms = data.get("billing_terms")
    if not isinstance(terms, Mapping):
        return open_contract(b, data)
    number = str(data["contract"]["number"])
    try:
        row, caps = parse_terms(number, str(data["currency"]), terms)
    except (ValueError, KeyError, ArithmeticError) as bad:
        return Failed((Problem(
            "deal.billing_terms_invalid", BusinessDomain.FINANCE,
            f"deal {data['deal_id']}: billing terms are invalid ({bad})",
            "Correct the billing terms (expense policy, retainer timing, caps) in CPQ and "
            "replay the deal.", "data.billing_terms", objects=(("deal", str(data["deal_id"])),)),))
    outcome = open_contract(b, data)
    if not isinstance(outcome, Applied) or b.conn.execute(
            select(contract_billing_terms.c.contract_number).where(
                contract_billing_terms.c.contract_number == number)).first():
        return outcome
    head = b.conn.execute(select(contracts.c.deal_id).where(contracts.c.number == number)).first()
    if head is None or head.deal_id != str(data["deal_id"]):
        return outcome
    b.conn.execute(contract_billing_terms.insert().values(**row))
    if caps:
        b.conn.execute(billing_caps.insert(), caps)
    return outcome


# --- rate cards ------------------------------------------------------------------------------

def publish_rate_card(b: Batch, data: Mapping[str, Any]) -> Outcome:
    """Store one version of a rate card, then re-price the open time items it now governs.

    Versions are immutable and all kept: re-publishing the same version is idempotent, the
    same version with other content is refused. Which version prices a date is decided at
    pricing (``rates.in_force``), so versions arriving in any order give the same prices.
    """
    card = parse_rate_card(data)
    if isinstance(card, list):
        return Failed(tuple(card))
    head = b.conn.execute(select(rate_cards.c.card_id).where(
        (rate_cards.c.card_id == card.card_id) & (rate_cards.c.version == card.version))).first()
    if head is not None:
        stored = [c for cs in load_cards(b.conn, card_ids={card.card_id}).values() for c in cs
                  if c.version == card.version]
        if stored and stored[0] == card:
            return Applied(note=f"rate card {card.label} already published (idempotent)")
        return Failed((Problem(
            "rate_card.version_conflict", BusinessDomain.BILLING,
            f"rate card {card.label} was already published with other content",
            f"A published version is never changed: publish the change as a new version of "
            f"card {card.card_id} (effective from the date it applies), then skip this "
            "message.", "data.version", objects=(("rate_card", card.label),)),))
    b.conn.execute(rate_cards.insert().values(
        card_id=card.card_id, version=card.version, scope=card.scope.name.lower(),
        scope_key=card.scope_key, currency=card.currency,
        effective_from=card.effective_from.isoformat(),
        effective_to=card.effective_to.isoformat() if card.effective_to else None,
        increment_hours=card.increment.step, rounding=card.increment.mode.value,
        name=str(data["name"]) if data.get("name") else None, inbox_id=b.inbox_id))
    b.conn.execute(rate_card_entries.insert(), [
        {"card_id": card.card_id, "version": card.version, "role": role, "rate": rate.amount}
        for role, rate in card.rates])
    b.forget_rates()
    repriced, withdrawn = _reprice(b, card)
    notes = [f"{n} open time item(s) re-priced" if (n := repriced) else "",
             f"{withdrawn} time entr(y/ies) lost their rate" if withdrawn else ""]
    return Applied(note="; ".join(n for n in notes if n))


def _reprice(b: Batch, card: RateCard) -> tuple[int, int]:
    """Re-price the open (not yet invoiced, unsplit, not held) time items the card can govern:
    time on T&M contracts in its currency and scope, worked on or after its effective_from.
    Invoiced items keep the price they were invoiced at."""
    target = select(contracts.c.id, contracts.c.number, contracts.c.currency,
                    customers.c.external_id.label("customer_key")).join(
        customers, customers.c.id == contracts.c.customer_id).where(
        (contracts.c.currency == card.currency)
        & (contracts.c.billing_type == BillingType.TIME_AND_MATERIALS.value))
    if card.scope is Scope.CONTRACT:
        target = target.where(contracts.c.number == card.scope_key)
    elif card.scope is Scope.CUSTOMER:
        target = target.where(customers.c.external_id == card.scope_key)
    by_number = {r.number: r for r in b.conn.execute(target)}
    if not by_number:
        return 0, 0
    items = b.conn.execute(
        select(billable_items.c.key, billable_items.c.contract_number,
               billable_items.c.service_date, billable_items.c.quantity,
               billable_items.c.unit_price, billable_items.c.amount,
               billable_items.c.rate_scope, billable_items.c.rate_card,
               time_entries.c.time_entry_id, time_entries.c.project_code,
               time_entries.c.worker_id, time_entries.c.hours, time_entries.c.role,
               time_entries.c.inbox_id)
        .join(time_entries, time_entries.c.time_entry_id == func.substr(billable_items.c.key, 6))
        .where((billable_items.c.source == "time")
               & (billable_items.c.status == ItemStatus.GENERATED.value)
               & billable_items.c.contract_number.in_(sorted(by_number))
               & (billable_items.c.service_date >= card.effective_from.isoformat())
               & billable_items.c.key.not_in(select(billing_holds.c.item_key)))
        .order_by(billable_items.c.key)).all()
    changes: list[dict[str, Any]] = []
    withdrawn = 0
    for it in items:
        c = by_number[it.contract_number]
        book = b.rates(c.id, c.currency, c.number, c.customer_key)
        on = date.fromisoformat(it.service_date)
        rate = book.price(it.role, on)
        if isinstance(rate, RateNotFound):  # a newer version dropped the role everywhere
            from syncline.services.handlers import rate_missing

            withdraw_time(b, it, rate_missing(rate, c.number, (
                ("time_entry", it.time_entry_id), ("project", it.project_code),
                ("worker", it.worker_id))))
            withdrawn += 1
            continue
        quantity = billed_quantity(it.hours, rate)
        amount = price(quantity, rate.rate)
        new = (quantity, rate.rate.amount, amount.amount, rate.entry.scope.name.lower(),
               rate.card.label)
        if new != (it.quantity, it.unit_price, it.amount, it.rate_scope, it.rate_card or ""):
            changes.append({"b_key": it.key, "b_quantity": quantity,
                            "b_unit_price": rate.rate.amount, "b_amount": amount.amount,
                            "b_scope": new[3], "b_card": new[4]})
    if changes:
        b.conn.execute(update(billable_items).where(
            billable_items.c.key == bindparam("b_key")).values(
            quantity=bindparam("b_quantity"), unit_price=bindparam("b_unit_price"),
            amount=bindparam("b_amount"), rate_scope=bindparam("b_scope"),
            rate_card=bindparam("b_card")), changes)
    return len(changes), withdrawn


def withdraw_time(b: Batch, entry: Any, problem: Problem) -> None:
    """Approved time that should have been refused (a fact arrived later: the project closed
    before it, its rate was withdrawn) ends as if it had been refused on arrival: its time
    entry and open item are removed, its message is failed with one exception, so the result
    does not depend on the arrival order. Once invoiced (or split by a cap, or held) it cannot
    be undone silently: the entry is reversed and a credit note requested instead."""
    origin = f"time:{entry.time_entry_id}"
    parts = b.conn.execute(select(billable_items.c.key, billable_items.c.status).where(
        or_(billable_items.c.key == origin, billable_items.c.origin == origin))).all()
    held = b.conn.execute(select(billing_holds.c.item_key).where(
        billing_holds.c.item_key.in_([p.key for p in parts]))).first() if parts else None
    clean = held is None and all(
        p.key == origin and p.status == ItemStatus.GENERATED.value for p in parts)
    message = b.conn.execute(select(inbox.c.correlation_id).where(
        inbox.c.id == entry.inbox_id)).first()
    if clean:
        b.conn.execute(delete(billable_items).where(billable_items.c.key == origin))
        b.conn.execute(delete(time_entries).where(
            time_entries.c.time_entry_id == entry.time_entry_id))
        b.conn.execute(update(inbox).where(inbox.c.id == entry.inbox_id).values(
            status="failed", reason=problem.message))
    else:
        b.conn.execute(update(time_entries).where(
            time_entries.c.time_entry_id == entry.time_entry_id).values(status="reversed"))
        reverse_origin(b.conn, origin, problem.message, now=b.now, inbox_id=entry.inbox_id)
    raise_exception(b.conn, problem, now=b.now, inbox_id=entry.inbox_id,
                    correlation_id=message.correlation_id if message else b.correlation_id)


# --- project close ---------------------------------------------------------------------------

def close_project(b: Batch, data: Mapping[str, Any]) -> Outcome:
    """Record the PSA's close of a project. Time worked after ``closed_on`` is refused
    (``billing.project_closed``), including time that arrived before the close; time worked
    up to the close date is billed whenever it arrives. Closed twice (reopened in between):
    the later close date holds, whatever order the closes arrive in."""
    code = str(data["project_code"])
    closed_on = date.fromisoformat(str(data["closed_on"]))
    row = b.conn.execute(select(projects.c.id, projects.c.closed_on).where(
        projects.c.code == code)).first()
    if row is None:
        return Parked(Missing(f"project:{code}", f"project {code} is not provisioned yet"))
    if row.closed_on and row.closed_on >= closed_on.isoformat():
        return Applied(note=f"project already closed on {row.closed_on} (idempotent)")
    b.conn.execute(update(projects).where(projects.c.id == row.id).values(
        closed_on=closed_on.isoformat(), close_reason=str(data.get("reason") or "") or None))
    b._projects.pop(code, None)
    late = b.conn.execute(select(time_entries).where(
        (time_entries.c.project_code == code)
        & (time_entries.c.work_date > closed_on.isoformat())
        & (time_entries.c.status == "approved")).order_by(time_entries.c.time_entry_id)).all()
    from syncline.services.handlers import project_closed

    for entry in late:
        withdraw_time(b, entry, project_closed(entry.time_entry_id, code, entry.work_date,
                                               closed_on))
    return Applied(note=f"{len(late)} time entr(y/ies) after the close refused" if late else "")


# --- FX rates --------------------------------------------------------------------------------

def publish_fx_rates(b: Batch, data: Mapping[str, Any]) -> Outcome:
    """Store treasury's rates (1 base = rate quote, as of a date) for expenses and invoices.

    Idempotent per (base, quote, as_of); a stored rate is never changed: the same pair and day
    with another rate is a finance exception. A rate that is not positive, or a currency that
    is not ISO 4217, refuses the whole publication (a finance exception with remediation)."""
    base, as_of, source = str(data["base"]), date.fromisoformat(str(data["as_of"])), \
        str(data["source"])
    objects = (("fx_rates", f"{base} {as_of}"),)
    fix = (f"Treasury corrects the {base} rates of {as_of} in {source} (positive rates, ISO "
           "4217 currencies, a quote other than the base) and publishes them again; or edit "
           "this message and replay it.")
    problems: list[Problem] = []
    if not is_known_currency(base):
        problems.append(Problem("fx.rate_invalid", BusinessDomain.FINANCE,
                                f"base currency {base!r} is not an ISO 4217 code", fix,
                                "data.base", objects=objects))
    parsed: dict[str, Decimal] = {}
    for quote, text in sorted(dict(data["rates"]).items()):
        rate = Decimal(str(text))
        if not is_known_currency(quote) or quote == base:
            problems.append(Problem(
                "fx.rate_invalid", BusinessDomain.FINANCE,
                f"{base}/{quote} on {as_of}: {quote!r} is not an ISO 4217 code other than the "
                "base", fix, f"data.rates.{quote}", objects=objects))
        elif rate <= 0:
            problems.append(Problem(
                "fx.rate_invalid", BusinessDomain.FINANCE,
                f"{base}/{quote} on {as_of}: rate {rate} is not positive", fix,
                f"data.rates.{quote}", objects=objects))
        else:
            parsed[quote] = rate
    if problems:
        return Failed(tuple(problems))
    stored = {r.quote: r.rate for r in b.conn.execute(
        select(fx_rates.c.quote, fx_rates.c.rate).where(
            (fx_rates.c.base == base) & (fx_rates.c.as_of == as_of.isoformat())
            & fx_rates.c.quote.in_(sorted(parsed))))}
    clash = sorted(q for q, r in parsed.items() if q in stored and stored[q] != r)
    if clash:
        return Failed((Problem(
            "fx.rate_conflict", BusinessDomain.FINANCE,
            f"{base} rates of {as_of} from {source} differ from those already stored for "
            + ", ".join(f"{q} ({stored[q]} stored, {parsed[q]} now)" for q in clash),
            "Treasury confirms which rate is right. A stored rate is never overwritten (items "
            "and invoices keep the rate they were converted at): if the stored one is wrong, "
            "publish the correction for the next day, then skip this message.",
            "data.rates", objects=objects),))
    new = [{"base": base, "quote": q, "as_of": as_of.isoformat(), "rate": r, "source": source}
           for q, r in sorted(parsed.items()) if q not in stored]
    if new:
        b.conn.execute(fx_rates.insert(), new)
    return Applied(note="" if new else "rates already stored (idempotent)")


HANDLERS: dict[str, Handler] = {
    "deal.closed_won": open_contract_with_terms,
    "expense.approved": record_expense,
    "expense.rejected": reverse_expense,
    "rate_card.published": publish_rate_card,
    "project.closed": close_project,
    "fx.rates_published": publish_fx_rates,
}
