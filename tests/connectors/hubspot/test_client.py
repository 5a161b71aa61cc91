"""The wire contract against the fake HubSpot (connectors.md §9.3): auth, query, paging,
limits, token refresh, errors."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest

from syncline.connectors.hubspot.client import error_of
from syncline.connectors.hubspot.fake import FakeHubSpot
from syncline.connectors.sdk.errors import AuthError, RateLimited, VendorError
from tests.connectors.hubspot.conftest import (
    DEAL,
    TOKEN,
    Make,
    add_deal,
    fixture,
    search_bodies,
    seeded,
)


def test_every_call_carries_exactly_the_private_app_bearer(make: Make) -> None:
    fake = seeded()
    events = [e for b in make(fake).deals.read(None) for e in b.events]
    assert [e["data"]["deal_id"] for e in events] == [DEAL]
    assert fake.requests and all(r.headers["Authorization"] == f"Bearer {TOKEN}"
                                 for r in fake.requests)
    paths = [r.url.path for r in fake.requests]
    assert paths == ["/crm/v3/objects/deals/search",
                     "/crm/v4/associations/deals/line_items/batch/read",
                     "/crm/v4/associations/deals/companies/batch/read",
                     "/crm/v3/objects/line_items/batch/read",
                     "/crm/v3/objects/companies/batch/read"]


def test_a_wrong_token_is_an_auth_error_not_retried(make: Make) -> None:
    fake = seeded(FakeHubSpot(token="another"))
    with pytest.raises(AuthError) as caught:
        list(make(fake).deals.read(None))
    assert caught.value.code == "INVALID_AUTHENTICATION" and len(fake.requests) == 1


def test_the_search_asks_for_closed_won_stages_modified_since_the_cursor(make: Make) -> None:
    fake = seeded()
    list(make(fake).deals.read("2026-06-30T14:05:31.402Z"))
    body = search_bodies(fake)[0]
    assert body["filterGroups"] == [{"filters": [
        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "1782828331402"},
        {"propertyName": "dealstage", "operator": "IN", "values": ["775009", "closedwon"]}]}]
    assert body["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert body["limit"] == 100 and "after" not in body
    assert {"deal_currency_code", "syncline_billing_type", "hs_lastmodifieddate"} \
        <= set(body["properties"])
    items = json.loads(next(r for r in fake.requests
                            if r.url.path.endswith("objects/line_items/batch/read")).content)
    assert {"hs_product_id", "name", "quantity", "price", "amount"} <= set(items["properties"])


def test_the_string_sort_form_is_switchable(make: Make) -> None:
    fake = seeded(FakeHubSpot(token=TOKEN, sort_form="string"))
    assert [e for b in make(fake, sort_form="string").deals.read(None) for e in b.events]
    assert search_bodies(fake)[0]["sorts"] == ["hs_lastmodifieddate"]
    with pytest.raises(VendorError) as caught:  # the object form against a string-only fake
        list(make(fake).deals.read(None))
    assert caught.value.code == "VALIDATION_ERROR"


def test_paging_follows_the_opaque_after_to_the_terminal_page(make: Make) -> None:
    fake = seeded()
    for i in range(4):
        add_deal(fake, f"90{i}", f"2026-07-0{i + 1}T00:00:00Z")
    # `after` paging of one search (search_window above page_size; the default restarts)
    batches = list(make(fake, page_size=2, search_window=10_000).deals.read(None))
    assert [len(b.events) for b in batches] == [2, 2, 1]
    bodies = search_bodies(fake)
    tokens = [b.get("after") for b in bodies]
    assert tokens[0] is None and all(t and not t.isdigit() for t in tokens[1:])
    assert len(bodies) == 3  # stops when paging.next is absent
    assert batches[-1].cursor == "2026-07-04T00:00:00.000Z"


def test_a_made_up_after_is_refused_by_the_fake() -> None:
    fake = seeded()
    http = httpx.Client(transport=httpx.MockTransport(fake), base_url="https://api.hubapi.com",
                        headers={"Authorization": f"Bearer {TOKEN}"})
    answer = http.post("/crm/v3/objects/deals/search", json={"limit": 1, "after": "1"})
    assert answer.status_code == 400


def test_an_empty_search_is_one_empty_batch_and_the_cursor_stays(make: Make) -> None:
    fake = FakeHubSpot(token=TOKEN)
    batches = list(make(fake).deals.read("2026-07-01T00:00:00.000Z"))
    assert len(batches) == 1 and batches[0].events == [] and batches[0].cursor is None
    assert len(fake.requests) == 1  # no association or batch reads for nothing


def test_associations_are_followed_page_by_page(make: Make) -> None:
    fake = seeded(FakeHubSpot(token=TOKEN, assoc_page=1))
    event = next(e for b in make(fake).deals.read(None) for e in b.events)
    assert [ln["line_id"] for ln in event["data"]["lines"]] == ["4400001", "4400002"]
    continued = [json.loads(r.content) for r in fake.requests
                 if r.url.path.endswith("deals/line_items/batch/read")]
    assert len(continued) == 2 and "after" in continued[1]["inputs"][0]


def test_429_waits_retry_after_when_sent(make: Make, slept: list[float]) -> None:
    fake = seeded(FakeHubSpot(token=TOKEN, retry_after="3"))
    fake.throttle = 2
    assert [e for b in make(fake).deals.read(None) for e in b.events]
    assert slept == [3.0, 3.0]


def test_429_without_retry_after_backs_off_the_10_second_window_bounded(
        make: Make, slept: list[float]) -> None:
    fake = seeded()
    fake.throttle = 10
    with pytest.raises(RateLimited) as caught:
        list(make(fake).deals.read(None))
    assert slept == [10.0] * 4 and len(fake.requests) == 5 and caught.value.retryable


def test_5xx_backs_off_exponentially(make: Make, slept: list[float]) -> None:
    fake = seeded()
    fake.server_errors = 2
    assert [e for b in make(fake).deals.read(None) for e in b.events]
    assert slept == [1.0, 2.0]


OAUTH = {"token": None, "oauth": {"client_id": "fake-client",
                                  "client_secret": "${env:HUBSPOT_OAUTH_SECRET}",
                                  "refresh_token": "${env:HUBSPOT_REFRESH_TOKEN}"}}


def test_oauth_refresh_token_grant_then_one_refresh_after_an_expired_token(make: Make) -> None:
    fake = seeded()
    connector = make(fake, **OAUTH)
    list(connector.deals.read(None))
    token_calls = [r for r in fake.requests if r.url.path == "/oauth/v1/token"]
    assert len(token_calls) == 1
    form = {k: v[0] for k, v in parse_qs(token_calls[0].content.decode()).items()}
    assert form == {"grant_type": "refresh_token", "client_id": "fake-client",
                    "client_secret": "fake-secret", "refresh_token": "refresh-1"}
    assert fake.requests[1].headers["Authorization"] == "Bearer CNfake-access-1"
    fake.expire_once = True
    assert [e for b in connector.deals.read(None) for e in b.events]
    assert fake.token_requests == 2
    assert fake.requests[-1].headers["Authorization"] == "Bearer CNfake-access-2"


def test_a_refused_refresh_token_is_an_auth_error(make: Make) -> None:
    fake = seeded(FakeHubSpot(token=TOKEN, refresh_token="another"))
    with pytest.raises(AuthError) as caught:
        list(make(fake, **OAUTH).deals.read(None))
    assert "refresh-1" not in str(caught.value)


def test_the_error_body_becomes_message_and_category() -> None:
    response = httpx.Response(400, json=fixture("error_validation.json"))
    message, code = error_of(response)
    assert code == "VALIDATION_ERROR"
    assert "Invalid input JSON on line 1" in message and "Property values were not valid" \
        in message and "aeb5f871-7f07-4993-9211-075dc63e7cbf" in message
    assert error_of(httpx.Response(502, text="Bad Gateway")) == ("Bad Gateway", None)


def test_a_permanent_search_error_is_raised_with_its_category(make: Make) -> None:
    fake = seeded()
    fake.fail_search = (1, 400)
    with pytest.raises(VendorError) as caught:
        list(make(fake).deals.read(None))
    assert caught.value.code == "VALIDATION_ERROR" and not caught.value.retryable


def test_check_finds_a_configured_property_hubspot_does_not_have(make: Make) -> None:
    fake = seeded()
    assert make(fake).check().ok
    bad = make(fake, fields={"billing_type": "syncline_billing_typo"}).check()
    assert not bad.ok and "deals.syncline_billing_typo" in bad.detail
