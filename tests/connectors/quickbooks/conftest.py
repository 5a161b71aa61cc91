"""The QBO connector against the fake company, and real outbox payloads from a Syncline run."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import outbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.connectors.quickbooks import QuickBooksConnector, build
from syncline.connectors.quickbooks.fake import FakeQuickBooks
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.config import ConnectorConfig
from tests.builders import deal, rejection, time_entry, worker
from tests.conftest import FIXED_NOW, fixed_clock
from tests.services.test_billing_requests import ingest, run
from tests.services.test_rate_cards_close_fx import fx_published

FIXTURES = Path(__file__).parents[2] / "fixtures" / "quickbooks"
REALM = "9341453050071926"
ENV = {"QBO_SECRET": "qbo-secret", "QBO_REFRESH": "qbo-rt-0", "QBO_VERIFIER": "verify_me"}
SETTINGS: dict[str, Any] = {
    "realm_id": REALM, "client_id": "ABqbo-client", "client_secret": "${env:QBO_SECRET}",
    "refresh_token": "${env:QBO_REFRESH}", "token_store": "state/qbo-token.json",
    "verifier_token": "${env:QBO_VERIFIER}", "home_currency": "USD", "entities": ["US01"],
    "accounts": {"1100": "84", "4010": "79", "2400": "80", "1150": "90"},
    "ar_accounts": {"USD": "84", "EUR": "85"}, "tax_codes": {"US-EXEMPT": "NON"},
    "dimensions": {"service_line": {"implementation": "5000000000000012"}},
    "revenue_account": "4010", "deferred_account": "2400",
    "items": {"4010": "21", "2400": "22"}}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def make_fake(**kwargs: Any) -> FakeQuickBooks:
    return FakeQuickBooks(now=fixed_clock, **kwargs).seed_demo()


def connect(fake: FakeQuickBooks, base_dir: Path, slept: list[float] | None = None,
            **settings: Any) -> QuickBooksConnector:
    wiring = Wiring(transport=httpx.MockTransport(fake), clock=fixed_clock,
                    sleep=(slept if slept is not None else []).append, env=ENV,
                    base_dir=base_dir)
    return build(ConnectorConfig("books", "quickbooks", SETTINGS | settings), wiring)


@pytest.fixture
def fake() -> FakeQuickBooks:
    return make_fake()


@pytest.fixture
def qbo(fake: FakeQuickBooks, tmp_path: Path) -> QuickBooksConnector:
    return connect(fake, tmp_path)


def _outbox_rows() -> list[tuple[str, str, dict[str, Any]]]:
    """A USD invoice, a EUR invoice (with its rate) and a EUR credit note, from a real run:
    deals → time → billing January → a rejected entry → billing February."""
    with tempfile.TemporaryDirectory() as d:
        s = bootstrap(Settings(database_url=f"sqlite:///{d}/t.db"), clock=fixed_clock,
                      durable=False)
        ingest(s, fx_published("EUR", {"USD": "1.0850"}, as_of="2026-01-30"))
        ingest(s, deal(), worker(), time_entry("T-1", hours="8"))
        ingest(s, deal("D-2", number="C-2", project="P-2", currency="EUR"),
               time_entry("T-2", project="P-2", hours="4"),
               time_entry("T-3", project="P-2", hours="2", day="2026-01-06"))
        run(s, "2026-01")
        ingest(s, rejection("T-3"))
        run(s, "2026-02")
        with s.engine.connect() as conn:
            rows = [(r.id, r.kind, json.loads(r.payload)) for r in conn.execute(
                select(outbox.c.id, outbox.c.kind, outbox.c.payload)
                .where(outbox.c.kind.like("erp.%")).order_by(outbox.c.seq))]
        s.engine.dispose()
    return rows


@pytest.fixture(scope="session")
def outbox_rows() -> list[tuple[str, str, dict[str, Any]]]:
    return _outbox_rows()


def pick(rows: list[tuple[str, str, dict[str, Any]]], kind: str,
         **match: Any) -> tuple[str, dict[str, Any]]:
    for key, k, payload in rows:
        if k == kind and all(payload.get(f) == v for f, v in match.items()):
            return key, payload
    raise LookupError(f"no {kind} with {match}")


RECENT = (FIXED_NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
