"""The unit of work handlers share: one transaction (a batch), its caches and its outbox."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select

from syncline.adapters.db.billing_tables import rate_card_entries, rate_cards
from syncline.adapters.db.masterdata_tables import project_profiles
from syncline.adapters.db.tables import (
    contract_rates,
    contracts,
    customers,
    outbox,
    projects,
    wbs_tasks,
)
from syncline.billing.rates import (
    BillingIncrement,
    QuantityRounding,
    RateBook,
    RateCard,
    RateNotFound,
    ResolvedRate,
    Scope,
    contract_card,
    reference_cards,
)
from syncline.domain.reference import ReferenceData
from syncline.ledger.money import Money
from syncline.services.messaging import card_cache
from syncline.services.messaging.bulk import insert_rows, light
from syncline.services.messaging.outbox import last_seq, outbox_row
from syncline.services.messaging.outcomes import Outcome

# Statements built once, parameters bound per execute: per-message statement building and
# cache-key generation cost more than the queries themselves.
_PROJECT_COLUMNS = (select(projects.c.id, projects.c.code, projects.c.status, contracts.c.number,
                   contracts.c.id.label("contract_id"), contracts.c.currency,
                   contracts.c.billing_type, contracts.c.customer_id, contracts.c.entity_code,
                   projects.c.closed_on, customers.c.external_id.label("customer_key"),
                   project_profiles.c.activated_at)
            .join(contracts, contracts.c.id == projects.c.contract_id)
            .join(customers, customers.c.id == contracts.c.customer_id)
            .outerjoin(project_profiles, project_profiles.c.project_id == projects.c.id))
_PROJECT = _PROJECT_COLUMNS.where(projects.c.code == bindparam("code"))
_PROJECTS_IN = _PROJECT_COLUMNS.where(projects.c.code.in_(bindparam("codes", expanding=True)))
_TASKS = select(wbs_tasks.c.code, wbs_tasks.c.billable).where(
    wbs_tasks.c.project_id == bindparam("project_id"))
_TASKS_IN = select(wbs_tasks.c.project_id, wbs_tasks.c.code, wbs_tasks.c.billable).where(
    wbs_tasks.c.project_id.in_(bindparam("ids", expanding=True)))
_CONTRACT_RATES = select(contract_rates).where(
    contract_rates.c.contract_id == bindparam("contract_id"))
_CONTRACT_RATES_IN = select(contract_rates).where(
    contract_rates.c.contract_id.in_(bindparam("ids", expanding=True)))


@dataclass
class Batch:
    """What handlers share inside one unit of work (one transaction)."""

    conn: Connection
    ref: ReferenceData
    now: datetime
    inbox_id: str = ""
    source: str = ""  # the message's source (``syncline/…``: Syncline's own, see inbox)
    correlation_id: str | None = None
    sequence: int | None = None
    latest_sequence: int | None = None
    _projects: dict[str, Any] = field(default_factory=dict)
    _rates: dict[str, RateBook] = field(default_factory=dict)
    _cards: Mapping[tuple[Scope, str | None], tuple[RateCard, ...]] | None = None
    _own: dict[str, list[Any]] = field(default_factory=dict)  # contract id -> its rate rows
    _fallback: tuple[RateCard, ...] | None = None
    _bounds: dict[str, list[date]] = field(default_factory=dict)
    _prices: dict[tuple[str, str, int], ResolvedRate | RateNotFound] = field(
        default_factory=dict)
    _outbox_seq: int | None = None
    # (inbox id, its subject's last sequence) as the processor's stale check read it, so that
    # marking the subject once the message is applied does not read it again
    subject_read: tuple[str, int | None] | None = None

    def project(self, code: str) -> Any | None:
        if code not in self._projects:
            found = light(self.conn.execute(_PROJECT, {"code": code}).all()[:1])
            if not found:
                return None
            row = found[0]
            tasks = {t.code: t.billable for t in self.conn.execute(
                _TASKS, {"project_id": row.id})}
            self._projects[code] = (row, tasks)
        return self._projects[code]

    def preload_projects(self, codes: Iterable[str]) -> None:
        """Read the projects of a set (those not read yet in this batch) in two queries:
        `project` then answers from the cache, as if it had read them one by one."""
        missing = sorted({str(c) for c in codes} - self._projects.keys())
        for start in range(0, len(missing), 500):
            rows = light(self.conn.execute(_PROJECTS_IN, {"codes": missing[start:start + 500]}))
            tasks: dict[str, dict[str, Any]] = {r.id: {} for r in rows}
            if rows:
                for t in self.conn.execute(_TASKS_IN, {"ids": list(tasks)}):
                    tasks[t.project_id][t.code] = t.billable
            for row in rows:
                self._projects[row.code] = (row, tasks[row.id])

    def preload_rates(self, codes: Iterable[str]) -> None:
        """Read the own rates of the contracts of these (preloaded) projects in one query:
        `rates` then builds their books without a query each."""
        ids = sorted({found[0].contract_id for c in codes if (found := self._projects.get(c))}
                     - self._own.keys() - self._rates.keys())
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            rows: dict[str, list[Any]] = {i: [] for i in part}
            for r in light(self.conn.execute(_CONTRACT_RATES_IN, {"ids": part})):
                rows[r.contract_id].append(r)
            self._own.update(rows)

    def rates(self, contract_id: str, currency: str, contract_number: str,
              customer_key: str | None) -> RateBook:
        """What prices a contract's time in this batch: its own rates, its contract, customer
        and default cards, the reference role defaults as fallback. One query per contract
        per batch (or one per set: `preload_rates`; the cards are loaded once per batch),
        then memoized answers."""
        if contract_id not in self._rates:
            own_rows = self._own.pop(contract_id, None)
            if own_rows is None:
                own_rows = list(self.conn.execute(_CONTRACT_RATES, {"contract_id": contract_id}))
            own = [(r.role, Money(r.rate, r.currency)) for r in own_rows
                   if r.currency == currency]
            cards = self.cards()
            relevant = (*((contract_card(contract_number, currency, own),) if own else ()),
                        *cards.get((Scope.CONTRACT, contract_number), ()),
                        *(cards.get((Scope.CUSTOMER, customer_key), ()) if customer_key
                          else ()),
                        *cards.get((Scope.DEFAULT, None), ()))
            if self._fallback is None:
                self._fallback = reference_cards((rr.role, rr.rate) for rr in self.ref.role_rates)
            self._rates[contract_id] = RateBook(
                relevant, currency=currency, contract_key=contract_number,
                customer_key=customer_key, fallback=self._fallback)
        return self._rates[contract_id]

    def price(self, contract_id: str, book: RateBook, role: str,
              on: date) -> ResolvedRate | RateNotFound:
        """`book.price(role, on)` (the book of `rates(contract_id, …)`), memoized per stretch
        of days between the dates its cards start or end: which card version is in force,
        and so the answer, changes only there. A thousand entries of a month then cost one
        resolution per role and stretch, not per day. Not found is answered for `on`."""
        bounds = self._bounds.get(contract_id)
        if bounds is None:
            edges = set()
            for card in (*book.cards, *book.fallback):
                edges.add(card.effective_from)
                if card.effective_to is not None and card.effective_to < date.max:
                    edges.add(card.effective_to + timedelta(days=1))
            bounds = self._bounds[contract_id] = sorted(edges)
        key = (contract_id, role, bisect_right(bounds, on))
        found = self._prices.get(key)
        if found is None:
            found = self._prices[key] = book.price(role, on)
        if isinstance(found, RateNotFound):
            return RateNotFound(role, on, found.currency, found.contract_key)
        return found

    def cards(self) -> Mapping[tuple[Scope, str | None], tuple[RateCard, ...]]:
        """Every published rate card version, by (scope, scope key): looked up once per batch,
        read again only when a card changed since this process last read them
        (`card_cache`)."""
        if self._cards is None:
            self._cards = card_cache.cards(self.conn, load_cards)
        return self._cards

    def forget_rates(self) -> None:
        """A rate card arrived: later messages in this batch price with it."""
        self._rates.clear()
        self._own.clear()
        self._bounds.clear()
        self._prices.clear()
        self._cards = None

    def emit(self, kind: str, target: str, payload: Mapping[str, Any],
             group_key: str | None = None) -> str:
        row = self._outbox_row(kind, target, payload, group_key)
        insert_rows(self.conn, outbox, [row])  # (straight to the driver: bulk.py)
        return str(row["id"])

    def emit_all(self, messages: Iterable[tuple[str, str, Mapping[str, Any], str | None]]
                 ) -> None:
        """`emit` of each ``(kind, target, payload, group key)`` in turn (the same rows, the
        same sequence numbers), written in one statement."""
        insert_rows(self.conn, outbox, [self._outbox_row(*m) for m in messages])

    def _outbox_row(self, kind: str, target: str, payload: Mapping[str, Any],
                    group_key: str | None) -> dict[str, Any]:
        """The next outbox row of this unit of work (its sequence number taken)."""
        if self._outbox_seq is None:
            self._outbox_seq = last_seq(self.conn)
        self._outbox_seq += 1
        return outbox_row(self._outbox_seq, kind, target, payload,
                          correlation_id=self.correlation_id, now=self.now, group_key=group_key)


def load_cards(conn: Connection, *, card_ids: Collection[str] | None = None,
               ) -> dict[tuple[Scope, str | None], tuple[RateCard, ...]]:
    """Published rate card versions (all, or those of ``card_ids``) by (scope, scope key)."""
    query = select(rate_cards)
    entries_query = select(rate_card_entries)
    if card_ids is not None:
        query = query.where(rate_cards.c.card_id.in_(sorted(card_ids)))
        entries_query = entries_query.where(rate_card_entries.c.card_id.in_(sorted(card_ids)))
    heads = conn.execute(query).all()
    if not heads:
        return {}
    rates: dict[tuple[str, int], list[tuple[str, Money]]] = {}
    currency = {(h.card_id, h.version): h.currency for h in heads}
    for e in conn.execute(entries_query):
        key = (e.card_id, e.version)
        if key in currency:
            rates.setdefault(key, []).append((e.role, Money(e.rate, currency[key])))
    out: dict[tuple[Scope, str | None], list[RateCard]] = {}
    for h in sorted(heads, key=lambda h: (h.card_id, h.version)):
        scope = Scope[h.scope.upper()]
        out.setdefault((scope, h.scope_key), []).append(RateCard(
            h.card_id, h.version, scope, h.scope_key, h.currency,
            date.fromisoformat(h.effective_from), tuple(sorted(
                rates.get((h.card_id, h.version), []), key=lambda r: r[0])),
            date.fromisoformat(h.effective_to) if h.effective_to else None,
            BillingIncrement(h.increment_hours, QuantityRounding(h.rounding))))
    return {k: tuple(v) for k, v in out.items()}


Handler = Callable[[Batch, Mapping[str, Any]], Outcome]
