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
from tests.fakes import RefusingErp

INTEGRATION_KEY = "console-integration-key"  # SYNCLINE_API_KEYS, role integration


@dataclass
class Firm:
    system: Syncline
    keys: dict[str, str]  # role -> token


def small_firm(tmp_path: Path, **settings: Any) -> Firm:
    """``settings``: more of the firm's settings (``connectors_config=...``)."""
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'console.db'}",
                                api_keys=INTEGRATION_KEY, api_key_roles="integration",
                                **settings),
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


HR_MAPPING = Path(__file__).parents[2] / "config/connectors/files/hr-workers.mapping.yaml"


def connected_firm(tmp_path: Path) -> tuple[Firm, RefusingErp]:
    """The small firm with two configured connectors — ``imports`` (files, stream ``hr``,
    read once: 3 records, cursor ``a.xlsx``) and ``time`` (Harvest, whose token is not in the
    environment: it cannot start; its stream ``time_entries`` failed last with a 429) — one
    refused webhook, and an ERP that refused the deal's customer: one dead letter."""
    from syncline.connectors.sandbox import sandbox_targets
    from syncline.services.connectors import cursors, webhooks

    config = tmp_path / "connectors.yaml"
    config.write_text(
        "connectors:\n"
        f"  - name: imports\n    kind: files\n    settings:\n      directory: {tmp_path}\n"
        f"      streams: [{{name: hr, path: '*.xlsx', mapping: {HR_MAPPING}}}]\n"
        "  - name: time\n    kind: harvest\n    poll_minutes: 15\n    settings:\n"
        "      account_id: '1234567'\n      token: ${env:SYNCLINE_TEST_UNSET_TOKEN}\n"
        "      user_agent: Syncline (ops@example.com)\n      hr_source: workday/hr\n",
        encoding="utf-8")
    firm = small_firm(tmp_path, connectors_config=str(config))
    erp = RefusingErp()
    system = firm.system
    system.targets = {**sandbox_targets(system.engine), "erp": erp}
    system.connector_targets = False
    now = fixed_clock()
    with system.engine.begin() as conn:
        cursors.advance(conn, "imports", "hr", '{"files": ["a.xlsx"]}', 3, now)
        webhooks.record(conn, "time", headers={"content-type": "application/json"},
                        body=b"{}", status="refused", reason="bad signature", events=0,
                        now=now)
    cursors.finish(system.engine, "imports", "hr", "ok", None, now)
    cursors.finish(system.engine, "time", "time_entries", "failed",
                   "Harvest answered 429 Too Many Requests 3 times", now)
    system.deliver()
    return firm, erp


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
