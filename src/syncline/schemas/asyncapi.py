"""The AsyncAPI document of the events Syncline receives and sends, generated from the
schemas in this package (events/v1) and the outbound kinds (``OUTBOUND``), checked in at
docs/asyncapi.yaml. tests/contracts/test_asyncapi.py fails until the committed document equals
the generated one, and until every kind the code emits is listed here. Regenerate::

    .venv/bin/python -m syncline.schemas.asyncapi > docs/asyncapi.yaml
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from syncline.schemas import ENVELOPE, EVENT_TYPES_V1, schema_for

# What Syncline sends through its outbox: kind -> (target system, what it asks for). The
# payloads are built in code (services/handlers, services/billing/run), not by a schema.
OUTBOUND: dict[str, tuple[str, str]] = {
    "crm.status.update": ("crm", "Write what became of a deal back onto it in the CRM "
                          "(deal_id, status, detail; Salesforce: the configured fields)."),
    "erp.customer.upsert": ("erp", "Create or update the customer of a won deal in the ERP."),
    "erp.invoice.post": ("erp", "Post an invoice or a credit note released by billing."),
    "erp.journal.post": ("erp", "Post a journal entry of the books (billing, revenue, "
                         "costs, close)."),
    "psa.budget.update": ("psa", "Set a project's budget in the PSA: the last step of a won "
                          "deal's provisioning (project_id, code, contract_id, billing_type, "
                          "currency, budget, rates), and again for each contract amendment "
                          "that changes the budget — contract value or estimated hours — "
                          "the bill rates or the end date (amendment, effective_date, "
                          "billing_type, currency, budget, previous_budget, hours, "
                          "previous_hours, rates when changed, end_date when changed, "
                          "changes); a cap-only amendment sends none. Amounts are decimal "
                          "text in the contract currency."),
    "psa.project.provision": ("psa", "Provision the project of a won deal in the PSA."),
}
SCHEMA_BASE = "https://syncline.dev/schemas/"


def _ref(name: str) -> str:
    """A schema file by its $id (the files under src/syncline/schemas/ are these ids)."""
    return SCHEMA_BASE + name


def document() -> dict[str, Any]:
    inbound = {t.replace(".", "_"): {"$ref": f"#/components/messages/{t.replace('.', '_')}"}
               for t in EVENT_TYPES_V1}
    messages: dict[str, Any] = {}
    for etype in EVENT_TYPES_V1:
        schema = schema_for(etype)
        messages[etype.replace(".", "_")] = {
            "name": etype,
            "title": schema.get("title", etype),
            "contentType": "application/cloudevents+json",
            "summary": f"CloudEvent of type {etype}; its data as {_ref(f'events/v1/{etype}.json')}",
            "payload": {"allOf": [{"$ref": _ref(ENVELOPE)}, {
                "type": "object", "required": ["data"],
                "properties": {"type": {"const": etype},
                               "data": {"$ref": _ref(f"events/v1/{etype}.json")}}}]},
        }
    channels: dict[str, Any] = {"events": {
        "address": "/v1/events",
        "description": "POST /v1/events (CloudEvents HTTP binding: structured, batched or "
                       "binary mode) and `syncline ingest` (JSON lines).",
        "messages": inbound}}
    operations: dict[str, Any] = {"receiveEvents": {
        "action": "receive", "channel": {"$ref": "#/channels/events"},
        "messages": [{"$ref": f"#/channels/events/messages/{k}"} for k in inbound]}}
    for target in sorted({t for t, _ in OUTBOUND.values()}):
        kinds = {k.replace(".", "_"): {"$ref": f"#/components/messages/{k.replace('.', '_')}"}
                 for k, (t, _) in sorted(OUTBOUND.items()) if t == target}
        channels[target] = {"address": target,
                            "description": f"The outbox, delivered to the {target} connector.",
                            "messages": kinds}
        operations[f"send_{target}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{target}"},
            "messages": [{"$ref": f"#/channels/{target}/messages/{k}"} for k in kinds]}
    for kind, (_target, what) in sorted(OUTBOUND.items()):
        messages[kind.replace(".", "_")] = {
            "name": kind, "title": kind, "summary": what, "contentType": "application/json",
            "payload": {"type": "object", "description": "Built in code; see docs/api.md."}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Syncline events", "version": "1.0.0",
                 "description": "Events Syncline receives (CloudEvents 1.0, schemas v1) and "
                                "the messages its outbox sends. Generated: python -m "
                                "syncline.schemas.asyncapi > docs/asyncapi.yaml"},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def dumps(doc: dict[str, Any]) -> str:
    text: str = yaml.safe_dump(doc, sort_keys=True, allow_unicode=True, width=100)
    return text


if __name__ == "__main__":
    sys.stdout.write(dumps(document()))
