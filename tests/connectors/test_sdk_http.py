"""The SDK's HTTP client: retries, Retry-After, token refresh, typed errors (connectors.md §9.3)."""

from __future__ import annotations

import httpx
import pytest

from syncline.connectors.sdk.auth import OAuth2, bearer
from syncline.connectors.sdk.errors import AuthError, RateLimited, VendorError
from syncline.connectors.sdk.http import RetryPolicy, VendorClient, retry_after
from syncline.connectors.sdk.secrets import MissingSecret, Secret, resolve


class Script:
    """A transport answering from a list, recording each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(script: Script, **kw: object) -> tuple[VendorClient, list[float]]:
    slept: list[float] = []
    c = VendorClient("acme", "https://api.example.test", transport=httpx.MockTransport(script),
                     sleep=slept.append, **kw)  # type: ignore[arg-type]
    return c, slept


def test_429_waits_retry_after_then_succeeds() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}),
                    httpx.Response(200, json={"ok": True}))
    c, slept = client(script)
    assert c.get_json("/x") == {"ok": True}
    assert slept == [7.0] and len(script.requests) == 2


def test_429_without_header_waits_the_default_and_gives_up_bounded() -> None:
    script = Script(*[httpx.Response(429) for _ in range(3)])
    c, slept = client(script, policy=RetryPolicy(max_attempts=3, default_wait=60))
    with pytest.raises(RateLimited) as caught:
        c.get_json("/x")
    assert slept == [60, 60] and caught.value.retryable and len(script.requests) == 3


def test_vendor_throttle_signal_besides_429() -> None:
    limit = httpx.Response(403, json=[{"errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    script = Script(limit, httpx.Response(200, json={}))
    c, slept = client(script, is_throttled=lambda r: r.status_code == 403
                      and "REQUEST_LIMIT_EXCEEDED" in r.text)
    c.get_json("/x")
    assert len(slept) == 1


def test_5xx_and_dropped_connections_back_off_exponentially() -> None:
    script = Script(httpx.Response(503), httpx.ConnectError("reset"), httpx.Response(200, json=1))
    c, slept = client(script, policy=RetryPolicy(base_delay=0.5))
    assert c.get_json("/x") == 1
    assert slept == [0.5, 1.0]


def test_permanent_error_is_raised_at_once_with_the_vendor_message() -> None:
    script = Script(httpx.Response(400, json={"message": "bad field"}))
    c, slept = client(script, error_of=lambda r: (r.json()["message"], "BAD"))
    with pytest.raises(VendorError) as caught:
        c.get_json("/x?token=secret")
    assert not caught.value.retryable and slept == []
    assert "bad field" in str(caught.value) and "secret" not in str(caught.value)


def test_401_refreshes_the_token_once_then_is_an_auth_error() -> None:
    tokens = iter(["t1", "t2", "t3"])
    token_calls: list[dict[str, str]] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        token_calls.append(dict(httpx.QueryParams(request.content.decode())))
        return httpx.Response(200, json={"access_token": next(tokens), "expires_in": 3600,
                                         "refresh_token": f"r{len(token_calls)}"})

    rotated: list[str] = []
    auth = OAuth2("acme", "https://login.example.test/token",
                  grant=lambda: {"grant_type": "client_credentials"},
                  transport=httpx.MockTransport(token_endpoint), on_rotate=rotated.append)
    script = Script(httpx.Response(401), httpx.Response(200, json="ok"))
    c, _ = client(script, auth=auth)
    assert c.get_json("/x") == "ok"
    assert [r.headers["Authorization"] for r in script.requests] == ["Bearer t1", "Bearer t2"]
    assert rotated == ["r1", "r2"] and token_calls[0]["grant_type"] == "client_credentials"
    script.answers = [httpx.Response(401), httpx.Response(401)]
    with pytest.raises(AuthError):
        c.get_json("/x")


def test_expired_token_is_fetched_before_the_request() -> None:
    now = [1000.0]
    calls: list[int] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json={"access_token": f"t{len(calls)}", "expires_in": 120})

    auth = OAuth2("acme", "https://login/token", grant=dict,
                  transport=httpx.MockTransport(token_endpoint), clock=lambda: now[0])
    script = Script(httpx.Response(200, json=1), httpx.Response(200, json=1),
                    httpx.Response(200, json=1))
    c, _ = client(script, auth=auth)
    c.get_json("/a")
    c.get_json("/b")
    now[0] += 100  # inside the 60-second skew of expiry
    c.get_json("/c")
    assert len(calls) == 2
    assert script.requests[-1].headers["Authorization"] == "Bearer t2"


def test_token_endpoint_refusal_is_an_auth_error_naming_the_oauth_error() -> None:
    auth = OAuth2("acme", "https://login/token", grant=dict, transport=httpx.MockTransport(
        lambda r: httpx.Response(400, json={"error": "invalid_grant",
                                            "error_description": "expired"})))
    c, _ = client(Script(), auth=auth)
    with pytest.raises(AuthError, match="invalid_grant expired"):
        c.get_json("/x")


def test_retry_after_as_http_date() -> None:
    from datetime import UTC, datetime

    r = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT"})
    assert retry_after(r, now=datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)) == 30.0


def test_static_bearer_and_secrets_never_print() -> None:
    token = Secret("pat-123")
    script = Script(httpx.Response(200, json=1))
    c, _ = client(script, auth=bearer(token))
    c.get_json("/x")
    assert script.requests[0].headers["Authorization"] == "Bearer pat-123"
    assert "pat-123" not in repr(token) and "pat-123" not in str(token)
    assert resolve("${env:TOK}", {"TOK": "abc"}).reveal() == "abc"
    with pytest.raises(MissingSecret, match="TOK"):
        resolve("${env:TOK}", {})
    with pytest.raises(MissingSecret, match="never inline"):
        resolve("plain-secret")
