"""Optional OIDC bearer tokens (services/governance/oidc.py): a JWT signed by the issuer's
JWKS key, for the configured audience, not expired, is the principal oidc:<sub> with the
roles it carries; anything else is 401."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from tests.conftest import fixed_clock

ISSUER, AUDIENCE = "https://idp.example.test", "syncline-api"


def rsa_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def signer(tmp_path: Path) -> Any:
    key = rsa_key()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1",
                                                               "use": "sig"}]}))
    return key


@pytest.fixture
def jwks_url(tmp_path: Path, signer: Any) -> Iterator[str]:
    """The issuer's JWKS over HTTP on localhost (PyJWT fetches http(s) only)."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture
def oidc_system(tmp_path: Path, jwks_url: str) -> Iterator[Syncline]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}", api_keys="legacy",
                        oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=jwks_url)
    system = bootstrap(settings, clock=fixed_clock, durable=False)
    yield system
    system.engine.dispose()


def token(key: Any, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300,
            "roles": ["finance", "no-such-role"], **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key,
                      algorithm="RS256", headers={"kid": "k1"})


def test_an_oidc_token_is_a_principal_and_a_bad_one_is_401(oidc_system: Syncline,
                                                            signer: Any) -> None:
    with TestClient(create_app(oidc_system, background=False)) as http:
        def who(tok: str) -> Any:
            return http.get("/v1/whoami", headers={"Authorization": f"Bearer {tok}"})

        ok = who(token(signer))
        assert ok.status_code == 200 and ok.json() == {
            "name": "oidc:alice", "roles": ["finance"], "via": "oidc"}
        assert who(token(signer, roles="billing controller")).json()["roles"] == [
            "billing", "controller"]
        assert who(token(signer, aud="another-api")).status_code == 401
        assert who(token(signer, iss="https://evil.example")).status_code == 401
        assert who(token(signer, exp=int(time.time()) - 3600)).status_code == 401
        assert who(token(signer, exp=None)).status_code == 401  # exp is required
        assert who(token(signer, roles=[])).status_code == 401  # no known role
        assert who(token(rsa_key())).status_code == 401  # not the issuer's key
        forged = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory",
                             "exp": int(time.time()) + 300, "roles": ["admin"]},
                            "s" * 32, algorithm="HS256", headers={"kid": "k1"})
        assert who(forged).status_code == 401
        assert http.get("/v1/whoami", headers={"X-API-Key": "legacy"}).status_code == 200
        # the role still decides: a finance token cannot post events
        assert http.post("/v1/events", json={}, headers={
            "Authorization": f"Bearer {token(signer)}"}).status_code == 403
