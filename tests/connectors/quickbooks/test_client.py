"""QBO over HTTP: exact requests, OAuth2 with a rotating refresh token persisted before use,
429 without Retry-After, 5xx, and the Fault body → typed errors."""

from __future__ import annotations

import json
import stat
import threading
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml

from syncline.connectors.quickbooks import build
from syncline.connectors.quickbooks.client import dumps, error_of, request_id
from syncline.connectors.quickbooks.fake import FakeQuickBooks
from syncline.connectors.registry import KIND_MODULES, Wiring
from syncline.connectors.sdk.config import ConnectorConfigInvalid, parse
from syncline.connectors.sdk.errors import AuthError, RateLimited, VendorError
from tests.connectors.quickbooks.conftest import REALM, connect, fixture, make_fake


def api_requests(fake: FakeQuickBooks) -> list[httpx.Request]:
    return [r for r in fake.requests if r.url.host != "oauth.platform.intuit.com"]


def test_every_request_is_bearer_on_the_realm_with_minorversion(fake: FakeQuickBooks,
                                                                tmp_path: Path) -> None:
    qbo = connect(fake, tmp_path)
    assert qbo.validate() == []
    sent = api_requests(fake)
    assert len(sent) >= 5
    for r in sent:
        assert r.headers["Authorization"] == "Bearer qbo-at-1"
        assert r.headers["Accept"] == "application/json"
        assert r.url.host == "quickbooks.api.intuit.com"
        assert r.url.path.startswith(f"/v3/company/{REALM}/")
        assert r.url.params["minorversion"] == "75"
    query = next(r for r in sent if r.url.path.endswith("/query"))
    assert query.url.params["query"] == ("select * from Account where Active in (true, false) "
                                         "STARTPOSITION 1 MAXRESULTS 1000")


def test_the_token_request_is_basic_auth_with_the_stored_refresh_token(
        fake: FakeQuickBooks, tmp_path: Path) -> None:
    connect(fake, tmp_path).validate()
    token = fake.requests[0]
    assert str(token.url) == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert token.headers["Authorization"] == "Basic QUJxYm8tY2xpZW50OnFiby1zZWNyZXQ="
    assert fake.token_requests == [{"grant_type": "refresh_token",
                                    "refresh_token": "qbo-rt-0"}]


def test_a_rotated_refresh_token_is_persisted_and_a_second_process_uses_it(
        fake: FakeQuickBooks, tmp_path: Path) -> None:
    first = connect(fake, tmp_path)
    first.validate()
    store = tmp_path / "state" / "qbo-token.json"
    saved = json.loads(store.read_text())
    assert saved["refresh_token"] == "qbo-rt-1" == fake.refresh_token
    assert saved["realm_id"] == REALM
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert [p.name for p in store.parent.iterdir()] == ["qbo-token.json"]  # no temp left
    # another process (a new connector from the same settings) refreshes with the rotated
    # token; the seed in the settings (qbo-rt-0) is now refused by Intuit
    second = connect(fake, tmp_path)
    assert second.validate() == []
    assert fake.token_requests[-1]["refresh_token"] == "qbo-rt-1"
    assert json.loads(store.read_text())["refresh_token"] == "qbo-rt-2"


def test_without_the_store_the_rotated_token_would_be_lost(fake: FakeQuickBooks,
                                                           tmp_path: Path) -> None:
    connect(fake, tmp_path).validate()
    (tmp_path / "state" / "qbo-token.json").unlink()  # as if on_rotate had not persisted it
    check = connect(fake, tmp_path).check()
    assert not check.ok and "invalid_grant" in check.detail


def test_an_expired_access_token_is_refreshed_once_and_the_call_retried(
        fake: FakeQuickBooks, tmp_path: Path) -> None:
    qbo = connect(fake, tmp_path)
    qbo.validate()
    fake.expire_token()
    assert qbo.validate() == []
    assert len(fake.token_requests) == 2
    assert qbo.api.auth.token_requests == 2


def test_a_429_without_retry_after_waits_60_seconds(fake: FakeQuickBooks,
                                                    tmp_path: Path) -> None:
    slept: list[float] = []
    qbo = connect(fake, tmp_path, slept)
    fake.throttle(2)
    assert qbo.validate() == []
    assert slept == [60.0, 60.0]


def test_throttled_past_the_bound_is_rate_limited(fake: FakeQuickBooks, tmp_path: Path) -> None:
    slept: list[float] = []
    qbo = connect(fake, tmp_path, slept)
    fake.throttle(9)
    with pytest.raises(RateLimited) as raised:
        qbo.validate()
    assert raised.value.retryable and slept == [60.0] * 4


def test_a_5xx_is_retried_with_backoff(fake: FakeQuickBooks, tmp_path: Path) -> None:
    slept: list[float] = []
    qbo = connect(fake, tmp_path, slept)
    fake.fail(2, 503)
    assert qbo.validate() == []
    assert slept == [0.5, 1.0]


def test_fault_bodies_become_messages_and_codes() -> None:
    body = fixture("fault_validation.json")
    response = httpx.Response(400, json=body, headers={"intuit_tid": "1-abc"})
    assert error_of(response) == ("Duplicate Name Exists Error: The name supplied already "
                                  "exists. : Id=58 (intuit_tid 1-abc)", "6240")
    auth = httpx.Response(401, json=fixture("fault_auth_401.json"))
    message, code = error_of(auth)
    assert code == "3200" and message.startswith("message=AuthenticationFailed")


def test_a_validation_fault_is_permanent_and_a_stale_token_retryable(
        fake: FakeQuickBooks, tmp_path: Path) -> None:
    qbo = connect(fake, tmp_path)
    qbo.api.create("Customer", {"DisplayName": "Acme [c-1]"}, "k2")
    with pytest.raises(VendorError) as refused:
        qbo.api.create("Customer", {"DisplayName": "Acme [c-1]"}, "k3")
    assert refused.value.code == "6240" and not refused.value.retryable
    assert refused.value.status == 400 and "intuit_tid 1-fake-tid" in str(refused.value)
    customer = fake.documents("Customer")[0]
    with pytest.raises(VendorError) as stale:
        qbo.api.create("Customer", {"Id": customer["Id"], "SyncToken": "7", "sparse": True,
                                    "CompanyName": "Acme"}, "k4")
    assert stale.value.code == "5010" and stale.value.retryable


def test_a_refused_token_endpoint_is_an_auth_error(tmp_path: Path) -> None:
    fake = make_fake(refresh_token="something-else")
    with pytest.raises(AuthError) as raised:
        connect(fake, tmp_path).validate()
    assert "invalid_grant" in str(raised.value) and "qbo-rt-0" not in str(raised.value)


def test_money_is_written_as_json_numbers_from_decimals() -> None:
    assert dumps({"Amount": Decimal("1600.10"), "Qty": Decimal("-2"), "n": "1.5"}) == \
        b'{"Amount": 1600.10, "Qty": -2, "n": "1.5"}'


def test_request_ids_fit_qbo_50_characters() -> None:
    assert request_id("out_01M8NXSJAHFFDK5QHPFKZKQKYC") == "out_01M8NXSJAHFFDK5QHPFKZKQKYC"
    long = request_id("x" * 48, ":u3")
    assert len(long) == 36 and long == request_id("x" * 48, ":u3")


def test_settings_refuse_drafts_and_a_missing_item(fake: FakeQuickBooks, tmp_path: Path) -> None:
    with pytest.raises(ConnectorConfigInvalid) as bad:
        connect(fake, tmp_path, status="draft", items={"4010": "21"}, minorversion=65)
    text = str(bad.value)
    assert "no draft invoices" in text and "no Item for account 2400" in text
    assert "minorversion" in text


def test_the_example_configuration_builds_and_checks_against_the_fake(tmp_path: Path) -> None:
    example = Path(__file__).parents[3] / "config" / "connectors" / "quickbooks.example.yaml"
    (config,) = parse(yaml.safe_load(example.read_text()), kinds=set(KIND_MODULES))
    env = {"QBO_CLIENT_SECRET": "qbo-secret", "QBO_REFRESH_TOKEN": "qbo-rt-0",
           "QBO_VERIFIER_TOKEN": "verify_me"}
    wiring = Wiring(transport=httpx.MockTransport(make_fake()), env=env, base_dir=tmp_path,
                    sleep=[].append)
    check = build(config, wiring).check()
    assert check.ok, check.detail
    assert (tmp_path / "state" / "quickbooks-books.json").is_file()


def test_two_threads_meeting_an_expired_token_refresh_once_and_keep_the_new_one(
        fake: FakeQuickBooks, tmp_path: Path) -> None:
    qbo = connect(fake, tmp_path)
    qbo.validate()
    fake.expire_token()
    threads = [threading.Thread(target=qbo.api.singleton, args=("/preferences", "Preferences"))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.token_requests) == 2  # the first sign-in and ONE refresh
    stored = json.loads((tmp_path / "state" / "qbo-token.json").read_text())
    assert stored["refresh_token"] == fake.refresh_token == "qbo-rt-2"
