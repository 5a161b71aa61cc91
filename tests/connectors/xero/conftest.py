"""A Xero connector over the fake (fake.FakeXero): one US01 tenant (USD) and one GB01 (GBP),
a token store in tmp_path, a fixed clock and a sleep recorder."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.xero import XeroConnector, build
from syncline.connectors.xero.fake import FakeXero

NOW = datetime(2026, 2, 15, 9, 0, tzinfo=UTC)
US, GB = "11111111-aaaa-4bbb-8ccc-000000000001", "11111111-aaaa-4bbb-8ccc-000000000002"
FIXTURES = Path(__file__).parents[2] / "fixtures" / "xero"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def settings(tmp_path: Path, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "tenants": {"US01": US, "GB01": GB}, "client_id": "xero-client",
        "client_secret": "${env:XERO_CLIENT_SECRET}", "refresh_token": "${env:XERO_RT}",
        "token_store": str(tmp_path / "xero-token.json"),
        "webhook_key": "${env:XERO_WEBHOOK_KEY}",
        "accounts": {"4000": "200", "2400": "820", "2300": "820", "4010": "200",
                     "5000": "310", "2100": "800"},
        "tax_codes": {"US-EXEMPT": "NONE", "GB-VAT-STD": "OUTPUT2"},
        "revenue_account": "4000", "deferred_account": "2400"}
    return base | over


ENV = {"XERO_CLIENT_SECRET": "xero-secret", "XERO_RT": "rt-0", "XERO_WEBHOOK_KEY": "wh-key"}


def make_fake() -> FakeXero:
    fake = FakeXero(tenants={US: "USD", GB: "GBP"}, clock=lambda: NOW)
    for books in fake.books.values():
        books.add_account("200", "Sales")
        books.add_account("820", "Deferred revenue", "CURRLIAB")
        books.add_account("310", "Cost of sales", "DIRECTCOSTS")
        books.add_account("800", "Accruals", "CURRLIAB")
        books.add_tax_rate("OUTPUT2", "20.0000")
    return fake


@pytest.fixture
def fake() -> FakeXero:
    return make_fake()


@pytest.fixture
def slept() -> list[float]:
    return []


Connect = Callable[..., XeroConnector]


@pytest.fixture
def connect(fake: FakeXero, slept: list[float], tmp_path: Path) -> Connect:
    def make(transport: httpx.BaseTransport | None = None, **over: Any) -> XeroConnector:
        wiring = Wiring(transport=transport or httpx.MockTransport(fake), sleep=slept.append,
                        clock=lambda: NOW, env=ENV, base_dir=tmp_path)
        return build(ConnectorConfig("books", "xero", settings(tmp_path, **over)), wiring)
    return make


def invoice(number: str = "US01-2026-000001", **over: Any) -> dict[str, Any]:
    """An ``erp.invoice.post`` payload as services/billing/run/erp_documents.py writes it."""
    return {"document": "invoice", "number": number, "entity": "US01", "contract": "C-1",
            "customer": "Acme Corp", "customer_id": "cus_acme", "customer_external_id": "A-1",
            "customer_country": "US", "currency": "USD", "date": "2026-01-31",
            "due": "2026-03-02", "period": "2026-01", "service_line": "advisory",
            "subtotal": "1200.00", "tax_code": "US-EXEMPT", "tax_rate": "0", "tax": "0.00",
            "total": "1200.00", "fx": None,
            "lines": [{"description": "Consultant time", "quantity": "6",
                       "unit_price": "200.00", "amount": "1200.00", "deferred": False}]} | over


def customer(**over: Any) -> dict[str, Any]:
    return {"customer_id": "cus_acme", "external_id": "A-1", "name": "Acme Corp",
            "country": "US", "legal_entity": "US01", "tax_profile": "US-EXEMPT",
            "currency": "USD"} | over


def body(request: httpx.Request) -> Any:
    """A request body, numbers with a fraction kept as their exact wire text."""
    return json.loads(request.content, parse_float=str)
