"""OAuth 2.0 with a rotating refresh token, 429/5xx, and at most 5 calls in flight a tenant."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.connectors.sdk.errors import AuthError, RateLimited
from syncline.connectors.xero import build
from syncline.connectors.xero.client import Gate, XeroApi, gate_of
from syncline.connectors.xero.fake import FakeXero
from syncline.connectors.xero.settings import parse
from tests.connectors.xero.conftest import ENV, US, Connect, customer, invoice, settings


def stored(tmp_path: Path) -> str:
    return str(json.loads((tmp_path / "xero-token.json").read_text())["refresh_token"])


def test_an_expired_token_is_refreshed_once_and_each_rotation_is_persisted_first(
        fake: FakeXero, connect: Connect, tmp_path: Path) -> None:
    rotations: list[tuple[str, str]] = []
    target = connect().target()
    target.deliver("erp.customer.upsert", customer(), "outbox-1")
    assert stored(tmp_path) == fake.refresh_token == "rt-1"
    fake.expire_token()  # the 30-minute access token lapsed: 401, one refresh, the retry
    auth = target.apis["US01"].client.auth
    save = auth.on_rotate
    assert save is not None

    def persist_then_check(token: str) -> None:
        save(token)
        rotations.append((token, stored(tmp_path)))
        assert "at-2" not in [r.headers.get("Authorization", "")[7:] for r in fake.requests]
    auth.on_rotate = persist_then_check
    target.deliver("erp.invoice.post", invoice(), "outbox-2")
    assert rotations == [("rt-2", "rt-2")]  # on disk before the new access token was used
    assert [f["refresh_token"] for f in fake.token_requests] == ["rt-0", "rt-1"]
    statuses = [(r.method, r.headers.get("Authorization")) for r in fake.requests[-3:]]
    assert statuses[-1] == ("PUT", "Bearer at-2")
    # a connector built later starts from the stored token: the configured rt-0 is spent
    fake.expire_token()
    connect().target().deliver("erp.customer.upsert", customer(), "outbox-3")
    assert fake.token_requests[-1]["refresh_token"] == "rt-2"


def test_a_spent_refresh_token_is_an_auth_error_not_a_retry(fake: FakeXero,
                                                            connect: Connect) -> None:
    fake.refresh_token = "rt-somewhere-else"
    with pytest.raises(AuthError, match="invalid_grant"):
        connect().target().find("erp.customer.upsert", customer())


def test_a_custom_connection_uses_client_credentials(fake: FakeXero, connect: Connect,
                                                     tmp_path: Path) -> None:
    c = connect(grant="client_credentials", refresh_token=None, token_store=None)
    assert c.target().find("erp.customer.upsert", customer()) is None
    assert fake.token_requests == [{"grant_type": "client_credentials"}]
    assert not (tmp_path / "xero-token.json").exists()


def test_429_waits_retry_after_and_5xx_backs_off(fake: FakeXero, connect: Connect,
                                                 slept: list[float]) -> None:
    target = connect().target()
    fake.throttle(2, retry_after="7")
    target.deliver("erp.customer.upsert", customer(), "outbox-1")
    assert slept == [7.0, 7.0]
    fake.fail(2, 503)
    target.deliver("erp.invoice.post", invoice(), "outbox-2")
    assert slept[2:] == [1.0, 2.0]
    fake.throttle(1, retry_after="86400", problem="day")  # the daily limit: park, don't spin
    with pytest.raises(RateLimited):
        target.apis["US01"].get("/Organisation")


def test_never_more_than_five_calls_in_flight_per_tenant(fake: FakeXero,
                                                         connect: Connect) -> None:
    target = connect().target()
    target.deliver("erp.customer.upsert", customer(), "outbox-0")
    fake.hold = 0.05
    threads = [threading.Thread(target=target.deliver, args=(
        "erp.invoice.post", invoice(number=f"US01-2026-{n:06d}"), f"outbox-{n}"))
        for n in range(1, 13)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.violations == 0
    assert fake.max_in_flight == 5  # they did overlap, up to the limit
    assert len(fake.books[US].records["Invoices"]) == 12


def test_without_the_gate_the_fake_catches_a_sixth_call(fake: FakeXero) -> None:
    fake.hold = 0.05
    fake.live.add("at-x")
    raw = httpx.Client(transport=httpx.MockTransport(fake), headers={
        "Authorization": "Bearer at-x", "xero-tenant-id": US, "Accept": "application/json"})
    gated = httpx.Client(transport=Gate(httpx.MockTransport(fake), gate_of("gate-test", 5)),
                         headers=dict(raw.headers))

    def burst(client: httpx.Client) -> None:
        threads = [threading.Thread(target=client.get,
                                    args=("https://api.xero.com/api.xro/2.0/Organisation",))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    burst(gated)
    assert fake.violations == 0
    burst(raw)
    assert fake.violations > 0


def test_settings_refuse_more_than_xeros_limit_and_name_the_missing(tmp_path: Path) -> None:
    with pytest.raises(ConnectorConfigInvalid) as bad:
        parse(ConnectorConfig("books", "xero", settings(
            tmp_path, max_in_flight=6, tenants={"US01": US}, entities=["US01", "DE01"],
            token_store=None)), ENV)
    problems = "\n".join(bad.value.problems)
    assert "max_in_flight: 1 to 5" in problems
    assert "entity DE01 has no Xero tenant" in problems
    assert "token_store" in problems
    good = parse(ConnectorConfig("books", "xero", settings(tmp_path)), ENV)
    assert (good.status, good.journal_status, good.mapping.entities) == (
        "AUTHORISED", "POSTED", ("GB01", "US01"))
    assert isinstance(build(ConnectorConfig("books", "xero", settings(tmp_path)),
                            __import__("syncline.connectors.registry").connectors.registry
                            .Wiring(env=ENV)).apis["US01"], XeroApi)
