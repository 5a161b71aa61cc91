"""Amendments → canonical ``contract.amended`` data (pure), in the two shapes firms use:

- **amendment opportunity** (``amendments.mode: opportunity``): a closed-won Opportunity whose
  ``fields.amends`` names the original deal's id. Each line item is one change: its action
  from ``line_fields.action`` (default ``add_line``); ``add_line`` carries the line as on a
  deal; ``change_price`` the line id and the new amount (by the line kind's rule);
  ``remove_line`` the line id. The effective date is the contract start term (default
  ``CloseDate``); the amendment id is the amendment's own deal id.
- **change-order custom object** (``amendments.mode: change_order``): a record of the
  configured object with child lines; every canonical change key (action, line_id, kind,
  amount, cap_id, limit, hours, role, rate …) is read from the field configured for it, so
  every action of contract.amended is expressible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncline.connectors.salesforce.mapping import (
    Reader,
    check_stage,
    deal_line,
    line_amount,
    line_items,
    put,
)
from syncline.connectors.salesforce.settings import ENUMS, ChangeOrders, SalesforceSettings
from syncline.connectors.salesforce.values import choice, day, decimal_text

_DECIMALS = ("amount", "estimated_hours", "estimated_cost", "limit", "tolerance", "hours",
             "rate")
_FLAGS = ("priced_at_ssp", "distinct")


def is_amendment(opp: dict[str, Any], s: SalesforceSettings) -> bool:
    return s.amendments == "opportunity" and Reader(opp, s).read("amends") is not None


def amendment_opportunity(opp: dict[str, Any], s: SalesforceSettings) -> dict[str, Any]:
    r = Reader(opp, s)
    if check_stage(opp, s) is False:
        raise r.refuse("not closed-won (IsWon is false)")
    billing_type = r.enum("billing_type", required=True)
    rows = line_items(opp)
    if not rows:
        raise r.refuse("missing line items: an amendment opportunity lists its changes as "
                       "OpportunityLineItems")
    labels = s.values.get("action", {})
    changes = []
    for row in rows:
        action = r.read("action", lambda v: choice(v, ENUMS["action"], labels), row=row,
                        fields=s.line_fields) or "add_line"
        if action == "add_line":
            changes.append({"action": action, **deal_line(r, row, billing_type)})
            continue
        line_id = r.read("line_id", required=True, row=row, fields=s.line_fields)
        if action == "remove_line":
            changes.append({"action": action, "line_id": line_id})
        elif action == "change_price":
            kind = r.read("kind", lambda v: choice(v, ENUMS["billing_type"], s.values.get(
                "billing_type", {})), row=row, fields=s.line_fields) or billing_type
            changes.append({"action": action, "line_id": line_id,
                            "amount": line_amount(r, row, kind) or line_amount(
                                r, row, "fixed_fee")})
        else:
            raise r.refuse(f"line {row.get('Id')}: action {action} cannot be expressed on an "
                           "OpportunityLineItem (use amendments.mode: change_order)")
    data: dict[str, Any] = {
        "deal_id": r.read("amends", required=True),
        "amendment_id": r.read("deal_id", required=True),
        "effective_date": r.read("start_date", day) or r.read(
            "start_date", day, required=True, path="CloseDate"),
        "changes": changes,
    }
    put(data, "end_date", r.read("amendment_end_date", day))
    put(data, "reason", r.read("amendment_reason"))
    return data


def change_order(record: dict[str, Any], s: SalesforceSettings) -> dict[str, Any]:
    co = s.change_orders
    assert co is not None, "change_order() needs amendments.mode: change_order"
    r = Reader(record, s, co.object)
    child = record.get(co.lines)
    rows = list(child.get("records") or []) if isinstance(child, dict) else []
    if not rows:
        raise r.refuse(f"missing change lines: {co.lines} is empty")
    fields: dict[str, str | None] = dict(co.fields)
    data: dict[str, Any] = {
        "deal_id": r.read("deal_id", required=True, fields=fields),
        "amendment_id": r.record_id,
        "effective_date": r.read("effective_date", day, required=True, fields=fields),
        "changes": [_change(r, co, row) for row in rows],
    }
    put(data, "end_date", r.read("end_date", day, fields=fields))
    put(data, "reason", r.read("reason", fields=fields))
    return data


def _change(r: Reader, co: ChangeOrders, row: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, str | None] = dict(co.line_fields)
    out: dict[str, Any] = {}
    for key in co.line_fields:
        value = r.read(key, _converter(r.s, key), required=key == "action", row=row,
                       fields=fields)
        put(out, key, value)
    return out


def _converter(s: SalesforceSettings, key: str) -> Callable[[Any], Any]:
    if key in _DECIMALS:
        return decimal_text
    if key in _FLAGS:
        return bool
    enum = {"action": "action", "kind": "billing_type", "recognition": "recognition"}.get(key)
    if enum:
        labels = s.values.get(enum, {})
        return lambda v: choice(v, ENUMS[enum], labels)
    return str
