"""Reading closed-won Opportunities (connectors.md §9.3): auth header, SOQL, paging to
``done`` through opaque locators, empty pages, cursors committed with their batch, the
rate-limit signal, retries, token refresh and the error array."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from syncline.bootstrap import Syncline
from syncline.connectors.runs import run_stream
from syncline.connectors.salesforce.fake import FakeOrg
from syncline.connectors.sdk.errors import AuthError, RateLimited, VendorError
from syncline.schemas import validate_event
from syncline.services.connectors import cursors
from tests.conftest import fixed_clock
from tests.connectors.salesforce.conftest import full_settings, load_deals, simulated

S = full_settings()


def soql_of(request) -> str:  # type: ignore[no-untyped-def]
    return parse_qs(request.url.query.decode())["q"][0]


def api_requests(org: FakeOrg) -> list:  # type: ignore[type-arg]
    return [r for r in org.requests if r.url.path != "/services/oauth2/token"]


def test_exact_auth_header_and_query(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    load_deals(org, simulated()[:1], S)
    (batch,) = connect().streams()[0].read("2026-07-01T09:00:00Z")
    (first,) = api_requests(org)
    assert first.headers["Authorization"].startswith("Bearer 00D5e000000AbCd!")
    assert first.headers["Authorization"][7:] in org.tokens
    assert first.url.path == "/services/data/v62.0/query"
    q = soql_of(first)
    assert q.startswith("SELECT Id, Name, AccountId, StageName, IsClosed, IsWon, CloseDate, "
                        "SystemModstamp, Syncline_Deal_Id__c, Account.Name")
    assert "(SELECT Id, Name, Description, Quantity, UnitPrice, TotalPrice, SortOrder, " \
           "Syncline_Line_Id__c" in q
    assert q.endswith("FROM Opportunity WHERE IsWon = true AND SystemModstamp >= "
                      "2026-07-01T09:00:00Z ORDER BY SystemModstamp, Id")
    assert org.token_grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert len(batch.events) == 1 and validate_event(batch.events[0]) == []


def test_pages_follow_the_opaque_next_url_until_done(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    deals = simulated()[:5]
    load_deals(org, deals, S)
    org.page_size = 2
    batches = list(connect().streams()[0].read(None))
    assert [len(b.events) for b in batches] == [2, 2, 1]
    paths = [r.url.path for r in api_requests(org)]
    assert paths[0] == "/services/data/v62.0/query"
    assert all(p.startswith("/services/data/v62.0/query/01g") for p in paths[1:])
    assert len(set(paths[1:])) == 2  # each locator used once, as handed out
    assert [b.cursor for b in batches] == ["2026-07-01T10:01:00Z", "2026-07-01T10:03:00Z",
                                           "2026-07-01T10:04:00Z"]
    assert sorted(e["data"]["deal_id"] for b in batches for e in b.events) == \
        sorted(d["deal_id"] for d in deals)


def test_a_client_that_builds_page_urls_fails(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    load_deals(org, simulated()[:3], S)
    org.page_size = 2
    client = connect().client
    client.get_json(f"{org.api}/query", params={"q": "SELECT Id FROM Opportunity"})
    with pytest.raises(VendorError) as caught:
        client.get_json(f"{org.api}/query/01g0000000000000-2")
    assert caught.value.code == "INVALID_QUERY_LOCATOR" and not caught.value.retryable


def test_an_empty_result_is_one_empty_batch_that_keeps_the_cursor(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    (batch,) = connect().streams()[0].read("2026-07-01T00:00:00Z")
    assert batch.events == [] and batch.refusals == [] and batch.cursor is None


def test_cursor_advances_per_committed_page_and_survives_a_failure_on_page_2(  # type: ignore[no-untyped-def]
        connect, org: FakeOrg, system: Syncline) -> None:
    load_deals(org, simulated()[:4], S)
    org.page_size = 2
    org.lose_locators = True  # page 2's locator is gone: a permanent VendorError
    stream = connect().streams()[0]
    result = run_stream(system.engine, "crm", stream, clock=fixed_clock)
    assert not result.ok and "INVALID_QUERY_LOCATOR" in (result.error or "")
    assert result.accepted == 2 and result.cursor_after == "2026-07-01T10:01:00Z"
    with system.engine.connect() as conn:
        assert cursors.read(conn, "crm", "opportunities") == "2026-07-01T10:01:00Z"
    org.lose_locators = False
    again = run_stream(system.engine, "crm", stream, clock=fixed_clock)
    # re-read from the stored cursor with >=: the boundary deal is a duplicate, none is lost
    assert again.ok and again.accepted == 2 and again.duplicates == 1
    assert again.cursor_after == "2026-07-01T10:03:00Z"


def test_rereading_and_our_own_write_back_are_duplicates(  # type: ignore[no-untyped-def]
        connect, org: FakeOrg, system: Syncline) -> None:
    deals = simulated()[:2]
    load_deals(org, deals, S)
    connector = connect()
    first = run_stream(system.engine, "crm", connector.streams()[0], clock=fixed_clock)
    assert first.accepted == 2
    # the status write-back bumps SystemModstamp; the content is unchanged: same event ids
    connector.status_target().deliver("crm.status.update",
                                      {"deal_id": deals[0]["deal_id"], "status": "synced"}, "k1")
    again = run_stream(system.engine, "crm", connector.streams()[0], clock=fixed_clock)
    assert again.accepted == 0 and again.duplicates >= 1


def test_request_limit_exceeded_is_throttling_and_retried(connect, org: FakeOrg, sleeps) -> None:  # type: ignore[no-untyped-def]
    load_deals(org, simulated()[:1], S)
    org.limit_exceeded = 2
    (batch,) = connect().streams()[0].read(None)
    assert len(batch.events) == 1 and sleeps == [10.0, 10.0]


def test_request_limit_exceeded_gives_up_bounded(connect, org: FakeOrg, sleeps) -> None:  # type: ignore[no-untyped-def]
    org.limit_exceeded = 99
    with pytest.raises(RateLimited) as caught:
        list(connect().streams()[0].read(None))
    assert caught.value.retryable and len(sleeps) == 4 and caught.value.status == 403


def test_5xx_is_retried_with_backoff(connect, org: FakeOrg, sleeps) -> None:  # type: ignore[no-untyped-def]
    org.server_errors = 2
    list(connect().streams()[0].read(None))
    assert sleeps == [0.5, 1.0]


def test_an_expired_session_mints_a_new_assertion_once(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    load_deals(org, simulated()[:3], S)
    org.page_size = 2
    stream = connect().streams()[0]
    pages = stream.read(None)
    next(pages)
    org.expire_tokens()
    rest = list(pages)
    assert len(rest) == 1 and len(org.token_grants) == 2


def test_401_after_a_fresh_token_is_an_auth_error_saying_what_to_fix(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    connector = connect()
    list(connector.streams()[0].read(None))
    org.tokens.clear()
    org.tokens.add("never-issued")  # every token the client gets is refused from now on
    original = org._token

    def mint_but_forget(request):  # type: ignore[no-untyped-def]
        response = original(request)
        org.tokens.clear()
        return response

    org._token = mint_but_forget  # type: ignore[method-assign]
    with pytest.raises(AuthError) as caught:
        list(connector.streams()[0].read(None))
    assert caught.value.status == 401 and caught.value.code == "INVALID_SESSION_ID"
    assert "pre-authorised profile" in str(caught.value) and not caught.value.retryable


def test_403_without_the_limit_code_is_an_auth_error(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    org.forbidden = True
    with pytest.raises(AuthError) as caught:
        list(connect().streams()[0].read(None))
    assert caught.value.code == "INSUFFICIENT_ACCESS" and "API Enabled" in str(caught.value)


def test_the_error_array_becomes_a_vendor_error(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    connector = connect(fields={"end_date": "No_Such_Field__c"}, status_writeback={})
    check = connector.check()
    assert not check.ok and "INVALID_FIELD" in check.detail and "No_Such_Field__c" in check.detail


def test_check_proves_login_and_field_map(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    load_deals(org, simulated()[:1], S)
    check = connect().check()
    assert check.ok and "1 closed-won" in check.detail


def test_client_credentials_grant_posts_to_my_domain(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    connector = connect(auth={"grant": "client_credentials", "client_id": "3MVG9fake.consumer",
                              "client_secret": "${env:SF_CLIENT_SECRET}"})
    assert connector.check().ok
    token = org.requests[0]
    assert str(token.url) == "https://acme.my.salesforce.com/services/oauth2/token"
    assert parse_qs(token.content.decode()) == {
        "grant_type": ["client_credentials"], "client_id": ["3MVG9fake.consumer"],
        "client_secret": ["cs-secret"]}


def test_a_wrong_private_key_is_refused_at_the_token_endpoint(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    org.public_key = other.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    check = connect().check()
    assert not check.ok and "invalid_grant" in check.detail


def test_line_items_past_the_child_page_are_fetched_from_their_own_next_url(  # type: ignore[no-untyped-def]
        connect, org: FakeOrg) -> None:
    data = simulated()[0]
    data["lines"] = [dict(data["lines"][0], line_id=f"L{i}") for i in range(3)]
    load_deals(org, [data], S)
    org.child_page_size = 1
    (batch,) = connect().streams()[0].read(None)
    assert [e["data"] for e in batch.events] == [data]
    assert len([r for r in api_requests(org) if "/query/01g" in r.url.path]) == 2
