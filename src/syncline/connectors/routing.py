"""Which system receives each outbox row: the sandbox by default, the firm's connectors
where configured (issue 13).

- ``erp``: an ``EntityRouter`` — each legal entity's documents go to the ERP target that
  names the entity in its ``entities`` setting (NetSuite for US01, Xero for GB01 …); an
  entity no ERP connector names stays with the default (the sandbox), so a firm can move
  one entity at a time.
- ``crm``: the Salesforce connector's status write-back (``crm.status.update``) when a
  Salesforce connector has ``status_writeback`` configured, else the sandbox.

Connectors come from ``SYNCLINE_CONNECTORS_CONFIG`` through the system's one resolver
(``Syncline.connectors``), so the connector delivering a document is the very instance the
worker polls and the API's webhooks use: built once, one client and token cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncline.connectors.erp.checked import CheckedTarget
from syncline.connectors.registry import Resolve, configured
from syncline.services.messaging.delivery import Refused, Target

ERP_KINDS = frozenset({"netsuite", "quickbooks", "xero"})


def entity_of(payload: dict[str, Any]) -> str | None:
    value = payload.get("entity") or payload.get("legal_entity")
    return str(value) if value else None


@dataclass
class EntityRouter:
    """One outbox target name, several systems: chosen by the document's legal entity."""

    name: str
    default: Target
    by_entity: dict[str, Target] = field(default_factory=dict)

    def target_for(self, payload: dict[str, Any]) -> Target:
        entity = entity_of(payload)
        return self.by_entity.get(entity, self.default) if entity else self.default

    def deliver(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str:
        return self.target_for(payload).deliver(kind, payload, idempotency_key)

    def compensate(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> None:
        self.target_for(payload).compensate(kind, payload, idempotency_key)

    def xref_system(self, payload: dict[str, Any]) -> str | None:
        chosen = getattr(self.target_for(payload), "xref_system", None)
        return chosen(payload) if chosen else None

    def describe(self) -> dict[str, str]:
        return {entity: getattr(t, "name", type(t).__name__)
                for entity, t in sorted(self.by_entity.items())}


def configured_targets(path: str, base: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
    """``base`` (the sandboxes) with the configured connectors' targets in their place; each
    connector is the one ``resolve`` keeps (built once, shared with polls and webhooks)."""
    targets = dict(base)
    router = EntityRouter("erp", default=base["erp"])
    for config in configured(path):
        if config.kind in ERP_KINDS:
            connector: Any = resolve(config.name)
            mapping = getattr(getattr(connector, "settings", None), "mapping", None)
            target = CheckedTarget(connector.target(), connector.validate, mapping)
            for entity in config.setting("entities") or ():
                if entity in router.by_entity:
                    raise Refused(f"legal entity {entity} is named by two ERP connectors "
                                  f"({router.by_entity[entity].name} and {config.name})")
                router.by_entity[str(entity)] = target
        elif config.kind == "salesforce" and config.setting("status_writeback"):
            targets["crm"] = resolve(config.name).status_target("crm")  # type: ignore[union-attr]
    targets["erp"] = router
    return targets
