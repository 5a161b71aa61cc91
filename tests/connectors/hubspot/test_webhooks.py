"""Webhooks v3 through ``POST /v1/connectors/{name}/webhook``: the signature over the raw
body, the 5-minute timestamp window, 200 fast, the deals stream woken, duplicates no-ops."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from syncline.adapters.db.connector_tables import connector_webhooks
from syncline.adapters.db.tables import inbox
from syncline.api.app import create_app
from syncline.bootstrap import Syncline
from syncline.connectors.hubspot import HubSpotConnector
from syncline.connectors.hubspot.fake import FakeHubSpot
from syncline.connectors.hubspot.webhooks import verify
from syncline.connectors.sdk.errors import SignatureError
from tests.conftest import FIXED_NOW
from tests.connectors.hubspot.conftest import FIXTURES, SECRET, Make, seeded

URL = "http://testserver/v1/connectors/crm/webhook"
BODY = (FIXTURES / "webhook_deal_events.json").read_bytes().strip()
NOW_MS = str(int(FIXED_NOW.timestamp() * 1000))


def sign(body: bytes, timestamp: str, uri: str = URL, secret: str = SECRET) -> str:
    message = b"POST" + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def headers(signature: str, timestamp: str = NOW_MS) -> dict[str, str]:
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp,
            "Content-Type": "application/json"}


def test_hubspots_published_v3_vector() -> None:
    """HubSpot/hubspot-api-python tests/spec/utils/test_signature.py::test_get_signature__v3
    (commit a2a528a9): secret yyyyyyyy-…, POST https://www.example.com/webhook_uri, body
    "{'example_field':'example_value'}", timestamp 1693657560000 →
    K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="""
    moment = datetime.fromtimestamp(1693657560, tz=UTC) + timedelta(seconds=30)
    verify(SECRET, method="POST", uri="https://www.example.com/webhook_uri",
           body=b"{'example_field':'example_value'}", now=moment,
           headers={"x-hubspot-signature-v3": "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=",
                    "x-hubspot-request-timestamp": "1693657560000"})
    with pytest.raises(SignatureError):  # the same vector, a byte of the body changed
        verify(SECRET, method="POST", uri="https://www.example.com/webhook_uri",
               body=b"{'example_field':'example_valuE'}", now=moment,
               headers={"x-hubspot-signature-v3": "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=",
                        "x-hubspot-request-timestamp": "1693657560000"})


@pytest.fixture
def api(system: Syncline, make: Make) -> Iterator[tuple[TestClient, FakeHubSpot, HubSpotConnector]]:
    fake = seeded()
    connector = make(fake)
    app = create_app(system, background=False, connectors=lambda name: (
        connector if name == "crm" else None))
    with TestClient(app) as http:
        yield http, fake, connector


def counts(system: Syncline) -> tuple[int, int]:
    with system.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
        logged = conn.execute(select(func.count()).select_from(connector_webhooks)).scalar_one()
    return stored, logged


def test_a_valid_delivery_is_answered_200_and_wakes_the_deals_stream(
        api: tuple[TestClient, FakeHubSpot, HubSpotConnector], system: Syncline) -> None:
    http, fake, _ = api
    answer = http.post("/v1/connectors/crm/webhook", content=BODY,
                       headers=headers(sign(BODY, NOW_MS)))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 2}
    assert fake.searches == 1  # the woken sync read the deal the notification named
    assert counts(system) == (1, 1)  # one deal.closed_won in the inbox, the delivery kept


def test_a_duplicate_delivery_is_a_no_op(
        api: tuple[TestClient, FakeHubSpot, HubSpotConnector], system: Syncline) -> None:
    http, _, _ = api
    for _ in range(2):
        answer = http.post("/v1/connectors/crm/webhook", content=BODY,
                           headers=headers(sign(BODY, NOW_MS)))
        assert answer.status_code == 200
    stored, logged = counts(system)
    assert stored == 1 and logged == 2


def test_a_tampered_body_is_401_and_stores_nothing(
        api: tuple[TestClient, FakeHubSpot, HubSpotConnector], system: Syncline) -> None:
    http, fake, _ = api
    tampered = BODY.replace(b'"propertyValue":"40500"', b'"propertyValue":"40501"')
    answer = http.post("/v1/connectors/crm/webhook", content=tampered,
                       headers=headers(sign(BODY, NOW_MS)))
    assert answer.status_code == 401 and "does not match" in answer.json()["detail"]
    assert fake.requests == [] and counts(system) == (0, 1)  # kept in the log as refused


def test_a_stale_timestamp_is_401_even_when_signed(
        api: tuple[TestClient, FakeHubSpot, HubSpotConnector], system: Syncline) -> None:
    http, fake, _ = api
    stale = str(int((FIXED_NOW - timedelta(minutes=5, seconds=1)).timestamp() * 1000))
    answer = http.post("/v1/connectors/crm/webhook", content=BODY,
                       headers=headers(sign(BODY, stale), stale))
    assert answer.status_code == 401 and "window" in answer.json()["detail"]
    assert fake.searches == 0 and counts(system) == (0, 1)
    fresh = str(int((FIXED_NOW - timedelta(minutes=4, seconds=59)).timestamp() * 1000))
    assert http.post("/v1/connectors/crm/webhook", content=BODY,
                     headers=headers(sign(BODY, fresh), fresh)).status_code == 200


def test_the_signature_covers_the_uri_hubspot_called(
        api: tuple[TestClient, FakeHubSpot, HubSpotConnector]) -> None:
    http, _, _ = api
    elsewhere = sign(BODY, NOW_MS, uri="https://example.com/v1/connectors/crm/webhook")
    assert http.post("/v1/connectors/crm/webhook", content=BODY,
                     headers=headers(elsewhere)).status_code == 401


def test_a_configured_public_url_is_what_is_signed(system: Syncline, make: Make) -> None:
    public = "https://syncline.example.com/hooks/hubspot"
    connector = make(seeded(), webhook_url=public)
    app = create_app(system, background=False, connectors=lambda name: connector)
    with TestClient(app) as http:
        answer = http.post("/v1/connectors/crm/webhook", content=BODY,
                           headers=headers(sign(BODY, NOW_MS, uri=public)))
    assert answer.status_code == 200


def test_other_objects_do_not_wake_deals_and_a_non_array_is_400(
        api: tuple[TestClient, FakeHubSpot, HubSpotConnector]) -> None:
    http, fake, _ = api
    contact = b'[{"eventId":7,"subscriptionType":"contact.creation","objectId":1}]'
    assert http.post("/v1/connectors/crm/webhook", content=contact,
                     headers=headers(sign(contact, NOW_MS))).status_code == 200
    assert fake.searches == 0
    odd = b'{"eventId":7}'
    assert http.post("/v1/connectors/crm/webhook", content=odd,
                     headers=headers(sign(odd, NOW_MS))).status_code == 400
