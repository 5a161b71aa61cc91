"""Inbound notifications: Outbound Messages (SOAP) and Change Data Capture (JSON via a relay).

Both carry the changed Opportunity fields, never its line items (OpportunityLineItem is no
CDC object and an Outbound Message holds one object's fields), so the answer is fast: a
won (or possibly won) Opportunity *wakes* the ``opportunities`` stream, which reads it whole
by SOQL; the webhook never calls Salesforce. A notification that does carry line items and
Account (a relay that enriched it) is mapped at once.

- **Outbound Message**: not signed. The ``OrganizationId`` must be the configured ``org_id``
  (compared on its 15-character form), else the delivery is refused (401). The answer is
  exactly the ``<Ack>true</Ack>`` envelope of connectors.md §1.5, ``text/xml``; anything else
  makes Salesforce retry for 24 h. A DOCTYPE is refused (no entity expansion).
- **CDC relay**: ``{"replayId", "topic", "payload": {"ChangeEventHeader": {…}, fields…}}``
  (our relay's shape, §1.6), a single event or a list, signed by the relay with HMAC-SHA256
  over the raw body (``X-Syncline-Signature: sha256=<hex>``, ``settings.relay_secret``).
  Our own write-backs (``changeOrigin`` ending ``client=syncline``) are dropped.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from syncline.connectors.salesforce.events import opportunity_event, refused
from syncline.connectors.salesforce.mapping import check_stage
from syncline.connectors.salesforce.settings import SalesforceSettings
from syncline.connectors.sdk.base import WebhookReply, WebhookRequest
from syncline.connectors.sdk.errors import MappingError, SignatureError
from syncline.connectors.sdk.secrets import Secret
from syncline.connectors.sdk.signatures import verify_hmac

ACK = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
       '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
       '<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>')
CALL_CLIENT = "syncline"  # Sforce-Call-Options client id on our writes: CDC echoes carry it
_OUT = "{http://soap.sforce.com/2005/09/outbound}"
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_FLAGS = ("IsWon", "IsClosed", "IsDeleted")


def receive(request: WebhookRequest, s: SalesforceSettings, source: str,
            relay_secret: Secret | None) -> WebhookReply:
    if request.body.lstrip().startswith(b"<"):
        return outbound_message(request.body, s, source)
    if relay_secret is None:
        raise SignatureError("CDC relay deliveries need settings.relay_secret")
    verify_hmac(relay_secret.reveal(), request.body,
                request.headers.get("x-syncline-signature"), prefix="sha256=")
    return change_events(request.body, s, source)


def outbound_message(body: bytes, s: SalesforceSettings, source: str) -> WebhookReply:
    if b"<!DOCTYPE" in body.upper().replace(b"<!doctype", b"<!DOCTYPE"):
        raise _bad("a DOCTYPE is not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        raise _bad(f"not XML ({err})") from None
    notes = root.find(f".//{_OUT}notifications")
    if notes is None:
        raise _bad("no notifications element")
    org = (notes.findtext(f"{_OUT}OrganizationId") or "").strip()
    if not s.org_id or org[:15] != s.org_id[:15]:
        raise SignatureError("OrganizationId does not match settings.org_id: an Outbound "
                             "Message is unsigned, so one from another org is refused")
    records = []
    for note in notes.findall(f"{_OUT}Notification"):
        sobject = note.find(f"{_OUT}sObject")
        if sobject is not None:
            records.append(_fields(sobject))
    reply = _notified(records, s, source)
    reply.body, reply.media_type = ACK, "text/xml"
    return reply


def change_events(body: bytes, s: SalesforceSettings, source: str) -> WebhookReply:
    try:
        parsed = json.loads(body, parse_float=Decimal)  # money never as float
    except json.JSONDecodeError as err:
        raise _bad(f"not JSON ({err.msg})") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    records = []
    for item in items:
        payload = item.get("payload") if isinstance(item, dict) else None
        header = payload.get("ChangeEventHeader") if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or not isinstance(header, dict):
            raise _bad("a change event without payload.ChangeEventHeader")
        origin = str(header.get("changeOrigin") or "")
        if origin.endswith(f"client={CALL_CLIENT}") or header.get("changeType") == "DELETE":
            continue  # our own write-back, or a deletion (nothing to sync)
        fields = {k: v for k, v in payload.items() if k != "ChangeEventHeader"}
        entity = str(header.get("entityName") or "")
        changed = [str(f) for f in header.get("changedFields") or []]
        for record_id in header.get("recordIds") or []:
            records.append({**fields, "Id": record_id, "attributes": {"type": entity},
                            "_changed": changed})
    reply = _notified(records, s, source)
    reply.body = json.dumps({"received": len(items)})
    return reply


def _notified(records: list[dict[str, Any]], s: SalesforceSettings, source: str
              ) -> WebhookReply:
    """Map what is complete; wake the stream for what is not."""
    reply = WebhookReply()
    wake: set[str] = set()
    watched = {f.split(".")[0] for f in s.fields.values() if f} | {"IsWon", "StageName"}
    for record in records:
        sobject = record.get("attributes", {}).get("type")
        if s.change_orders and sobject == s.change_orders.object:
            wake.add("change_orders")
            continue
        if sobject != "Opportunity":
            continue
        try:
            won = check_stage(record, s)
        except MappingError:
            won = None  # the stream reads it whole and refuses it there, with the record
        changed = record.pop("_changed", None)
        if won is False or (won is None and changed and not watched & set(changed)):
            continue
        if "OpportunityLineItems" in record and "SystemModstamp" in record:
            try:
                reply.events.append(opportunity_event(record, s, source))
            except MappingError as bad:
                reply.refusals.append(refused(record, "Opportunity", bad, source,
                                              "deal.closed_won"))
        else:
            wake.add("opportunities")
    reply.wake = sorted(wake)
    return reply


def _fields(sobject: ET.Element) -> dict[str, Any]:
    kind = (sobject.get(f"{_XSI}type") or "").split(":")[-1]
    record: dict[str, Any] = {"attributes": {"type": kind}}
    for child in sobject:
        name = child.tag.split("}")[-1]
        if child.get(f"{_XSI}nil") == "true":
            record[name] = None
        elif name in _FLAGS:
            record[name] = (child.text or "").strip() == "true"
        else:
            record[name] = child.text
    return record


def _bad(reason: str) -> MappingError:
    return MappingError("salesforce", "notification", "(body)", reason)
