"""A small firm for the console tests: one T&M deal, a worker, and one time entry that was
rejected (hours "seven"), which opens an exception; keys for each role a test signs in as
(``controller``: a principal with finance and controller)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.governance.keys import create_key
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

INTEGRATION_KEY = "console-integration-key"  # SYNCLINE_API_KEYS, role integration


@dataclass
class Firm:
    system: Syncline
    keys: dict[str, str]  # role -> token


def small_firm(tmp_path: Path) -> Firm:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'console.db'}",
                                api_keys=INTEGRATION_KEY, api_key_roles="integration"),
                       clock=fixed_clock, durable=False)
    keys = {"integration": INTEGRATION_KEY}
    with system.engine.begin() as conn:
        for role in ("finance", "pmo", "auditor"):
            keys[role], _ = create_key(conn, f"{role}-user", [role], by="test",
                                       now=fixed_clock())
        # a controller who also closes (no role implies another): locks and reopens
        keys["controller"], _ = create_key(conn, "controller-user", ["finance", "controller"],
                                           by="test", now=fixed_clock())
        receive_many(conn, [deal(), worker(), time_entry("T-1", hours="6"),
                            time_entry("T-2", hours="seven")], now=fixed_clock())
    system.process()
    return Firm(system, keys)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(http: Any, token: str) -> None:
    """Sign in through the form, as a person does."""
    form = http.get("/console/login")
    r = http.post("/console/login", data={"csrf": csrf_of(form.text), "api_key": token},
                  follow_redirects=False)
    assert r.status_code == 303, r.text
