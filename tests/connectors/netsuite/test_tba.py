"""TBA signing: the signature matches an independent OAuth 1.0a implementation; the fake
recomputes it and answers 401 on any mismatch; every request (retries too) is signed anew."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from syncline.connectors.netsuite import tba
from syncline.connectors.netsuite.client import SUITEQL
from syncline.connectors.sdk.errors import AuthError
from syncline.connectors.sdk.secrets import Secret
from tests.connectors.netsuite.support import ENV, connector, seeded

VECTORS = json.loads((Path(__file__).parents[2] / "fixtures" / "netsuite" /
                      "tba_vectors.json").read_text())


def signer() -> tba.TokenBasedAuth:
    c = VECTORS["credentials"]
    return tba.TokenBasedAuth(c["account_id"], Secret(c["consumer_key"]),
                              Secret(c["consumer_secret"]), Secret(c["token_id"]),
                              Secret(c["token_secret"]), clock=lambda: VECTORS["timestamp"],
                              nonce=lambda: VECTORS["nonce"])


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["method"])
def test_the_signature_matches_an_independent_oauth1_implementation(vector: dict) -> None:
    request = httpx.Request(vector["method"], vector["url"])
    signer().apply(request)
    params = tba.parse_header(request.headers["Authorization"])
    assert params["oauth_signature"] == vector["oauth_signature"]
    assert params["realm"] == "1234567_SB1"
    assert request.headers["Authorization"].startswith('OAuth realm="1234567_SB1", '
                                                      'oauth_consumer_key="ck-4f1", ')


def test_the_base_string_has_the_query_and_oauth_parameters_sorted_and_no_realm() -> None:
    url = httpx.URL("https://1234567-SB1.suitetalk.api.netsuite.com:443/services/rest/query/"
                    "v1/suiteql?offset=0&limit=2")
    base = tba.base_string("post", url, {"realm": "X", "oauth_nonce": "n a",
                                         "oauth_signature": "dropped"})
    assert base == ("POST&https%3A%2F%2F1234567-sb1.suitetalk.api.netsuite.com%2Fservices%2F"
                    "rest%2Fquery%2Fv1%2Fsuiteql&limit%3D2%26oauth_nonce%3Dn%2520a%26"
                    "offset%3D0")


def test_the_fake_recomputes_the_signature_and_refuses_a_wrong_secret() -> None:
    fake = seeded()
    good = connector(fake)
    assert next(iter(good.client.suiteql("SELECT id FROM subsidiary"))) == [
        {"links": [], "id": "1"}, {"links": [], "id": "3"}]
    request = fake.requests[-1]
    assert request.url.path == SUITEQL and request.headers["Prefer"] == "transient"
    assert request.url.params["limit"] == "1000" and request.url.params["offset"] == "0"
    bad = connector(fake)
    bad.client.auth.token_secret = Secret("not-the-secret")  # type: ignore[attr-defined]
    with pytest.raises(AuthError) as denied:
        next(iter(bad.client.suiteql("SELECT id FROM subsidiary")))
    assert denied.value.status == 401 and denied.value.code == "INVALID_LOGIN"
    assert len(fake.requests) == 3  # the 401 is re-signed once, then it is an AuthError


def test_a_401_is_retried_once_with_a_fresh_nonce() -> None:
    fake = seeded()
    fake.unauthorized(1)
    rows = next(iter(connector(fake).client.suiteql("SELECT id FROM subsidiary")))
    assert len(rows) == 2 and len(fake.requests) == 2
    nonces = [tba.parse_header(r.headers["Authorization"])["oauth_nonce"]
              for r in fake.requests]
    assert nonces[0] != nonces[1]


def test_a_replayed_nonce_is_refused_by_the_fake() -> None:
    fake = seeded()
    made = connector(fake)
    made.client.auth.nonce = lambda: "same-nonce"  # type: ignore[attr-defined]
    next(iter(made.client.suiteql("SELECT id FROM subsidiary")))
    with pytest.raises(AuthError):
        next(iter(made.client.suiteql("SELECT id FROM subsidiary")))


def test_secrets_never_show_in_the_settings_repr() -> None:
    made = connector(seeded())
    assert all(value not in repr(made.settings) for value in ENV.values())
