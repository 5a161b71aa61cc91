"""ERP master data checked before anything is provisioned (issue 13).

A won deal's provisioning saga starts with ``erp.customer.upsert``. Before that first step
is sent, ``CheckedTarget`` asks the ERP whether what the deal's documents will need is
there and active: the connector's ``validate()`` (every mapped account, tax code, dimension,
subsidiary/tenant/company exists and is active at the vendor) and the mapping of this
customer's tax profile. The answer is cached for ``ttl`` seconds (one ERP read a quarter of
an hour, however many deals arrive). Anything missing refuses the step for good — the saga
stops before a customer, project or budget is created anywhere, and one exception names
what to fix in the ERP or the mapping; `syncline deliveries retry` sends it again after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from syncline.connectors.erp.mapping import ErpMapping
from syncline.services.messaging.delivery import Refused


@dataclass
class CheckedTarget:
    target: Any
    validate: Callable[[], list[str]]
    mapping: ErpMapping | None = None
    ttl: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _checked_at: float | None = None
    _problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(getattr(self.target, "name", "erp"))

    def problems(self) -> list[str]:
        now = self.clock()
        if self._checked_at is None or now - self._checked_at >= self.ttl:
            self._problems, self._checked_at = list(self.validate()), now
        return self._problems

    def deliver(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str:
        if kind == "erp.customer.upsert":
            problems = list(self.problems())
            tax = payload.get("tax_profile")
            if self.mapping is not None and tax and tax not in self.mapping.tax_codes:
                problems.append(f"tax profile {tax} has no tax code in the mapping "
                                "(settings.tax_codes)")
            if problems:
                self._checked_at = None  # look again next time: someone may be fixing it
                raise Refused(f"{self.name}: master data not ready for customer "
                              f"{payload.get('name')} ({payload.get('legal_entity')}): "
                              + "; ".join(problems[:10]))
        result: str = self.target.deliver(kind, payload, idempotency_key)
        return result

    def compensate(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> None:
        self.target.compensate(kind, payload, idempotency_key)

    def xref_system(self, payload: dict[str, Any]) -> str | None:
        chosen = getattr(self.target, "xref_system", None)
        return chosen(payload) if chosen else None
