"""Rate limits per principal (issue 11): counted per caller, 429 with Retry-After, health
and other principals unaffected, a bad setting refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.api.limits import InvalidRateLimit, PrincipalLimiter
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from tests.conftest import fixed_clock


def test_each_principal_has_its_own_window(tmp_path: Path) -> None:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}",
                                api_keys="key-a,key-b", rate_limit="3/minute"),
                       clock=fixed_clock, durable=False)
    with TestClient(create_app(system, background=False)) as client:
        a, b = {"X-API-Key": "key-a"}, {"X-API-Key": "key-b"}
        assert [client.get("/v1/exceptions", headers=a).status_code for _ in range(3)] == [
            200, 200, 200]
        over = client.get("/v1/exceptions", headers=a)
        assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1
        assert "3 per 1 minute" in over.json()["detail"]
        assert client.get("/v1/exceptions", headers=b).status_code == 200  # its own window
        assert client.get("/v1/health").status_code == 200  # never limited
        # an unauthenticated caller is refused before it is counted
        assert client.get("/v1/exceptions", headers={"X-API-Key": "nope"}).status_code == 401


def test_off_disables_and_a_bad_expression_is_refused() -> None:
    PrincipalLimiter("off").check("anyone")
    with pytest.raises(InvalidRateLimit, match="600/minute"):
        PrincipalLimiter("lots")
