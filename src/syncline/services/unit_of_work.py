"""The unit of work handlers share: one transaction (a batch), its caches and its outbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import contract_rates, contracts, outbox, projects, wbs_tasks
from syncline.billing.rates import RateEntry, Scope
from syncline.domain.reference import ReferenceData
from syncline.ledger.money import Money
from syncline.services.outbox_rows import last_seq, outbox_row
from syncline.services.outcomes import Outcome


@dataclass
class Batch:
    """What handlers share inside one unit of work (one transaction)."""

    conn: Connection
    ref: ReferenceData
    now: datetime
    inbox_id: str = ""
    correlation_id: str | None = None
    sequence: int | None = None
    latest_sequence: int | None = None
    _projects: dict[str, Any] = field(default_factory=dict)
    _rates: dict[str, tuple[RateEntry, ...]] = field(default_factory=dict)
    _outbox_seq: int | None = None

    def project(self, code: str) -> Any | None:
        if code not in self._projects:
            row = self.conn.execute(
                select(projects.c.id, projects.c.code, projects.c.status, contracts.c.number,
                       contracts.c.id.label("contract_id"), contracts.c.currency,
                       contracts.c.billing_type, contracts.c.customer_id,
                       contracts.c.entity_code)
                .join(contracts, contracts.c.id == projects.c.contract_id)
                .where(projects.c.code == code)).first()
            if row is None:
                return None
            tasks = {t.code: t.billable for t in self.conn.execute(
                select(wbs_tasks.c.code, wbs_tasks.c.billable)
                .where(wbs_tasks.c.project_id == row.id))}
            self._projects[code] = (row, tasks)
        return self._projects[code]

    def rates(self, contract_id: str, currency: str) -> tuple[RateEntry, ...]:
        if contract_id not in self._rates:
            own = tuple(
                RateEntry(r.role, Money(r.rate, r.currency), Scope.CONTRACT, contract_id)
                for r in self.conn.execute(
                    select(contract_rates).where(contract_rates.c.contract_id == contract_id)))
            defaults = tuple(RateEntry(rr.role, rr.rate, Scope.DEFAULT)
                             for rr in self.ref.role_rates if rr.rate.currency == currency)
            self._rates[contract_id] = own + defaults
        return self._rates[contract_id]

    def emit(self, kind: str, target: str, payload: Mapping[str, Any],
             group_key: str | None = None) -> str:
        if self._outbox_seq is None:
            self._outbox_seq = last_seq(self.conn)
        self._outbox_seq += 1
        row = outbox_row(self._outbox_seq, kind, target, payload,
                         correlation_id=self.correlation_id, now=self.now, group_key=group_key)
        self.conn.execute(outbox.insert().values(**row))
        return str(row["id"])



Handler = Callable[[Batch, Mapping[str, Any]], Outcome]
