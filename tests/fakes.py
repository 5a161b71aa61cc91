"""Doubles shared by several test tiers."""

from __future__ import annotations

from typing import Any


class RefusingErp:
    """An ERP target that refuses customers until told otherwise (``refusing = False``) and
    answers every accepted document with its own id (``V-1``, ``V-2``, …)."""

    name = "acme-erp"

    def __init__(self) -> None:
        self.refusing, self.received = True, []  # type: bool, list[str]

    def deliver(self, kind: str, payload: dict[str, Any], key: str) -> str:
        from syncline.services.messaging.delivery import Refused

        if self.refusing and kind == "erp.customer.upsert":
            raise Refused("Customer: the subsidiary is inactive")
        self.received.append(key)
        return f"V-{len(self.received)}"

    def compensate(self, kind: str, payload: dict[str, Any], key: str) -> None:
        return None

    def xref_system(self, payload: dict[str, Any]) -> str:
        return "erp:acme-erp"
