"""Outbound Messages (SOAP, unsigned: org id checked, exact Ack) and CDC via the relay (HMAC):
they wake the opportunities stream instead of calling Salesforce (connectors.md §1.5-1.6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from syncline.bootstrap import Syncline
from syncline.connectors.receive import receive
from syncline.connectors.salesforce.fake import FakeOrg, deal_records
from syncline.connectors.salesforce.webhooks import ACK
from syncline.connectors.sdk.base import WebhookRequest
from syncline.connectors.sdk.signatures import hmac_digest
from syncline.schemas import validate_event
from tests.conftest import FIXED_NOW
from tests.connectors.salesforce.conftest import full_settings, simulated

FIXTURES = Path(__file__).parents[2] / "fixtures" / "salesforce"
EXACT_ACK = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
             '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
             '<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>')


def request(body: bytes, **headers: str) -> WebhookRequest:
    return WebhookRequest("POST", "https://syncline.example/v1/connectors/crm/webhook",
                          {k.lower().replace("_", "-"): v for k, v in headers.items()}, body,
                          FIXED_NOW)


def signed(payload: Any, secret: str = "relay-s3cret") -> WebhookRequest:
    body = json.dumps(payload).encode()
    return request(body, x_syncline_signature="sha256=" + hmac_digest(secret, body))


def test_outbound_message_is_acked_exactly_and_wakes_the_stream(  # type: ignore[no-untyped-def]
        connect, org: FakeOrg, system: Syncline) -> None:
    body = (FIXTURES / "outbound_message.xml").read_bytes()
    got = receive(system.engine, connect(), request(body, content_type="text/xml"))
    assert got.reply.status == 200 and got.reply.media_type == "text/xml"
    assert got.reply.body == ACK == EXACT_ACK
    assert got.reply.wake == ["opportunities"] and got.reply.events == []
    assert org.requests == []  # the webhook never calls Salesforce


def test_outbound_message_from_another_org_is_refused(connect, system: Syncline) -> None:  # type: ignore[no-untyped-def]
    body = (FIXTURES / "outbound_message.xml").read_bytes().replace(
        b"00D5e000000AbCdEAK", b"00D000000000001AAA")
    got = receive(system.engine, connect(), request(body))
    assert got.reply.status == 401 and "OrganizationId" in got.reply.body


def test_outbound_message_of_a_lost_opportunity_wakes_nothing(connect) -> None:  # type: ignore[no-untyped-def]
    body = (FIXTURES / "outbound_message.xml").read_bytes().replace(
        b"<sf:IsWon>true</sf:IsWon>", b"<sf:IsWon>false</sf:IsWon>")
    reply = connect().webhook(request(body))
    assert reply.wake == [] and reply.body == EXACT_ACK


def test_a_doctype_is_refused_before_parsing(connect, system: Syncline) -> None:  # type: ignore[no-untyped-def]
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    got = receive(system.engine, connect(), request(body))
    assert got.reply.status == 400 and "DOCTYPE" in got.reply.body


def test_cdc_update_to_won_wakes_the_stream(connect) -> None:  # type: ignore[no-untyped-def]
    payload = json.loads((FIXTURES / "cdc_opportunity_update.json").read_text())
    reply = connect().webhook(signed(payload))
    assert reply.wake == ["opportunities"] and reply.status == 200


def test_cdc_with_a_bad_signature_is_refused(connect, system: Syncline) -> None:  # type: ignore[no-untyped-def]
    payload = json.loads((FIXTURES / "cdc_opportunity_update.json").read_text())
    got = receive(system.engine, connect(), signed(payload, secret="not-the-secret"))
    assert got.reply.status == 401


def test_cdc_echo_of_our_own_write_back_is_dropped(connect) -> None:  # type: ignore[no-untyped-def]
    payload = json.loads((FIXTURES / "cdc_opportunity_update.json").read_text())
    payload["payload"]["ChangeEventHeader"]["changeOrigin"] = \
        "com/salesforce/api/rest/62.0;client=syncline"
    assert connect().webhook(signed(payload)).wake == []


def test_cdc_of_unwatched_fields_wakes_nothing(connect) -> None:  # type: ignore[no-untyped-def]
    payload = json.loads((FIXTURES / "cdc_opportunity_update.json").read_text())
    header = payload["payload"]["ChangeEventHeader"]
    header["changedFields"] = ["NextStep", "LastModifiedDate"]
    payload["payload"] = {"ChangeEventHeader": header, "NextStep": "call"}
    assert connect().webhook(signed(payload)).wake == []


def test_an_enriched_notification_with_line_items_is_mapped_at_once_and_deduplicated(  # type: ignore[no-untyped-def]
        connect, org: FakeOrg, system: Syncline) -> None:
    s = full_settings()
    data = simulated()[0]
    records = deal_records(data, s)
    org.load(records)
    org.tokens.add("t")
    from syncline.connectors.salesforce import soql

    row = org(httpx.Request("GET", f"{org.instance_url}{org.api}/query",
                            params={"q": soql.opportunities(s, None)},
                            headers={"Authorization": "Bearer t"})).json()["records"][0]
    header = {"entityName": "Opportunity", "recordIds": [row["Id"]], "changeType": "UPDATE",
              "changeOrigin": "", "changedFields": ["IsWon"]}
    fields = {k: v for k, v in row.items() if k not in ("attributes", "Id")}
    delivery = signed({"replayId": "1", "topic": "/data/OpportunityChangeEvent",
                       "payload": {"ChangeEventHeader": header, **fields}})
    first = receive(system.engine, connect(), delivery)
    assert first.accepted == 1 and first.reply.wake == []
    (event,) = first.reply.events
    assert validate_event(event) == [] and event["data"] == data
    assert receive(system.engine, connect(), delivery).duplicates == 1
