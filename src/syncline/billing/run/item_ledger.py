"""The run's working copy of the item ledger, and the billing problem every stage raises."""

from __future__ import annotations

from collections.abc import Iterable

from syncline.billing.items import BillableItem
from syncline.domain.errors import BusinessDomain, Problem, Severity


def billing_problem(code: str, message: str, remediation: str, *objects: tuple[str, str],
                    severity: Severity = Severity.HIGH) -> Problem:
    return Problem(code=code, domain=BusinessDomain.BILLING, message=message,
                   remediation=remediation, severity=severity, objects=objects)


class ItemLedger:
    """The run's working copy of the item ledger (keys are unique)."""

    def __init__(self, items: Iterable[BillableItem]) -> None:
        self.by_key: dict[str, BillableItem] = {i.key: i for i in items}

    def known(self, key: str) -> bool:
        return key in self.by_key or any(
            i.split_of == key or i.origin == key for i in self.by_key.values())

    def put(self, *items: BillableItem) -> None:
        for i in items:
            self.by_key[i.key] = i

    def drop(self, key: str) -> None:
        self.by_key.pop(key, None)
