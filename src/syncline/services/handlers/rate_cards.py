"""rate_card.published: store a version, re-price the open time items it now governs, and
release the time waiting for a rate on the contracts it governs (``rate_card:<contract>``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, or_, select, update

from syncline.adapters.db.billing_tables import (
    billing_holds,
    rate_card_entries,
    rate_cards,
)
from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    customers,
    inbox,
    parked,
    time_entries,
)
from syncline.billing.items import ItemStatus, price
from syncline.billing.rates import (
    EXACT,
    RateCard,
    RateNotFound,
    Scope,
    billed_quantity,
    parse_rate_card,
)
from syncline.domain.errors import BusinessDomain, Problem
from syncline.domain.model import BillingType
from syncline.ledger.money import Money
from syncline.services.clock import iso
from syncline.services.handlers.common import rate_missing, withdraw_time
from syncline.services.messaging.bulk import insert_rows
from syncline.services.messaging.outcomes import Applied, Failed, Outcome
from syncline.services.messaging.unit_of_work import Batch, load_cards

# Built once (ADR 0002): a card, its re-pricing and an amendment's rates run them.
_HEAD = select(rate_cards.c.card_id).where(
    (rate_cards.c.card_id == bindparam("i")) & (rate_cards.c.version == bindparam("v")))
_CONTRACT = select(contracts.c.id, contracts.c.currency,
                   customers.c.external_id.label("customer_key")).join(
    customers, customers.c.id == contracts.c.customer_id).where(
    contracts.c.number == bindparam("n"))
_GOVERNED = select(contracts.c.id, contracts.c.number, contracts.c.currency,
                   customers.c.external_id.label("customer_key")).join(
    customers, customers.c.id == contracts.c.customer_id).where(
    (contracts.c.currency == bindparam("cur"))
    & (contracts.c.billing_type == BillingType.TIME_AND_MATERIALS.value))
_GOVERNED_BY: dict[Scope, Select[Any]] = {  # the contracts a card of each scope can price
    Scope.CONTRACT: _GOVERNED.where(contracts.c.number == bindparam("key")),
    Scope.CUSTOMER: _GOVERNED.where(customers.c.external_id == bindparam("key")),
    Scope.DEFAULT: _GOVERNED}
_OPEN_TIME = (select(billable_items.c.key, billable_items.c.contract_number,
                     billable_items.c.service_date, billable_items.c.quantity,
                     billable_items.c.unit_price, billable_items.c.amount,
                     billable_items.c.rate_scope, billable_items.c.rate_card,
                     time_entries.c.time_entry_id, time_entries.c.project_code,
                     time_entries.c.worker_id, time_entries.c.hours, time_entries.c.role,
                     time_entries.c.inbox_id)
              .join(time_entries,
                    time_entries.c.time_entry_id == func.substr(billable_items.c.key, 6))
              .where((billable_items.c.source == "time")
                     & (billable_items.c.status == ItemStatus.GENERATED.value)
                     & billable_items.c.contract_number.in_(
                         bindparam("numbers", expanding=True))
                     & (billable_items.c.service_date >= bindparam("since"))
                     & billable_items.c.key.not_in(select(billing_holds.c.item_key)))
              .order_by(billable_items.c.key))
_REPRICED = update(billable_items).where(billable_items.c.key == bindparam("b_key")).values(
    quantity=bindparam("b_quantity"), unit_price=bindparam("b_unit_price"),
    amount=bindparam("b_amount"), rate_scope=bindparam("b_scope"),
    rate_card=bindparam("b_card"))


def publish_rate_card(b: Batch, data: Mapping[str, Any]) -> Outcome:
    """Store one version of a rate card, then re-price the open time items it now governs.

    Versions are immutable and all kept: re-publishing the same version is idempotent, the
    same version with other content is refused. Which version prices a date is decided at
    pricing (``rates.in_force``), so versions arriving in any order give the same prices.
    """
    card = parse_rate_card(data)
    if isinstance(card, list):
        return Failed(tuple(card))
    head = b.conn.execute(_HEAD, {"i": card.card_id, "v": card.version}).first()
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
    _store(b, card, str(data["name"]) if data.get("name") else None)
    repriced, withdrawn, governed = _reprice(b, card)
    notes = [f"{n} open time item(s) re-priced" if (n := repriced) else "",
             f"{withdrawn} time entr(y/ies) lost their rate" if withdrawn else ""]
    # time waiting for a rate on a contract this card can price is applied again
    return Applied(note="; ".join(n for n in notes if n),
                   provides=tuple(f"rate_card:{n}" for n in governed))


def _store(b: Batch, card: RateCard, name: str | None) -> None:
    insert_rows(b.conn, rate_cards, [dict(
        card_id=card.card_id, version=card.version, scope=card.scope.name.lower(),
        scope_key=card.scope_key, currency=card.currency,
        effective_from=card.effective_from.isoformat(),
        effective_to=card.effective_to.isoformat() if card.effective_to else None,
        increment_hours=card.increment.step, rounding=card.increment.mode.value,
        name=name, inbox_id=b.inbox_id)])
    insert_rows(b.conn, rate_card_entries, [
        {"card_id": card.card_id, "version": card.version, "role": role, "rate": rate.amount}
        for role, rate in card.rates])
    b.forget_rates()


def amend_rates(b: Batch, number: str, amendment_id: str, effective: date,
                changes: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The ``change_rate`` changes of a ``contract.amended``: the contract's rate for a role
    from the amendment's date, as a contract-scoped card of its own
    (``<contract>/<amendment>/<role>``, effective from the date, the increment of the card
    that priced the role that day, so only the price changes). Open time items from that date
    are re-priced; time waiting for a rate on the contract is released (the keys returned)."""
    rates = {str(c["role"]): Decimal(str(c["rate"])) for c in changes
             if c["action"] == "change_rate"}
    head = b.conn.execute(_CONTRACT, {"n": number}).first()
    if not rates or head is None:
        return ()
    book = b.rates(head.id, head.currency, number, head.customer_key)
    cards = []
    for role, rate in sorted(rates.items()):
        before = book.price(role, effective)
        cards.append(RateCard(
            f"{number}/{amendment_id}/{role}", 1, Scope.CONTRACT, number, head.currency,
            effective, ((role, Money(rate, head.currency)),), None,
            EXACT if isinstance(before, RateNotFound) else before.card.increment))
    for card in cards:
        _store(b, card, f"amendment {amendment_id}")
    for card in cards:
        _reprice(b, card)
    return (f"rate_card:{number}",)


def _reprice(b: Batch, card: RateCard) -> tuple[int, int, list[str]]:
    """Re-price the open (not yet invoiced, unsplit, not held) time items the card can govern:
    time on T&M contracts in its currency and scope, worked on or after its effective_from.
    Invoiced items keep the price they were invoiced at. Returns (re-priced, withdrawn, the
    contracts the card governs)."""
    by_number = {r.number: r for r in b.conn.execute(
        _GOVERNED_BY[card.scope], {"cur": card.currency, "key": card.scope_key})}
    if not by_number:
        return 0, 0, []
    items = b.conn.execute(_OPEN_TIME, {
        "numbers": sorted(by_number), "since": card.effective_from.isoformat()}).all()
    changes: list[dict[str, Any]] = []
    withdrawn = 0
    for it in items:
        c = by_number[it.contract_number]
        book = b.rates(c.id, c.currency, c.number, c.customer_key)
        on = date.fromisoformat(it.service_date)
        rate = book.price(it.role, on)
        if isinstance(rate, RateNotFound):  # a newer version dropped the role everywhere
            if not _wait_again(b, it, c.number, rate):
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
        b.conn.execute(_REPRICED, changes)
    return len(changes), withdrawn, sorted(by_number)


def _wait_again(b: Batch, it: Any, contract: str, missing: RateNotFound) -> bool:
    """Time whose open item loses its rate goes back to waiting for a card, as if it had
    arrived after this one (docs/billing.md, *Messages that wait for a rate*): its entry and
    item are removed and its ``time.approved`` message is parked on ``rate_card:<contract>``
    (parked at its event time), released by the next card that can price it. False when
    that cannot be done silently (the item is no longer whole and open, or the message is
    unknown): the caller withdraws it with an exception instead."""
    origin = f"time:{it.time_entry_id}"
    parts = b.conn.execute(select(billable_items.c.key, billable_items.c.status).where(
        or_(billable_items.c.key == origin, billable_items.c.origin == origin))).all()
    message = b.conn.execute(select(inbox.c.id, inbox.c.event_time).where(
        inbox.c.id == it.inbox_id)).first() if it.inbox_id else None
    if message is None or any(p.key != origin or p.status != ItemStatus.GENERATED.value
                              for p in parts):
        return False
    key = f"rate_card:{contract}"
    b.conn.execute(delete(billable_items).where(billable_items.c.key == origin))
    b.conn.execute(delete(time_entries).where(time_entries.c.time_entry_id == it.time_entry_id))
    b.conn.execute(parked.insert().values(
        inbox_id=message.id, prerequisite=key, reason=missing.message,
        parked_at=message.event_time or iso(b.now)))
    b.conn.execute(update(inbox).where(inbox.c.id == message.id).values(
        status="parked", reason=missing.message))
    waiting = getattr(b, "waiting", None)
    if isinstance(waiting, set):  # the unit of work's cache of keys waited on
        waiting.add(key)
    return True
