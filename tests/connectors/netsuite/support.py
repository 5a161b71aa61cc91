"""A NetSuite connector over the fake, with the reference data its mapping names."""

from __future__ import annotations

from typing import Any

import httpx

from syncline.connectors.netsuite import NetSuiteConnector, build
from syncline.connectors.netsuite.fake import FakeNetSuite
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.config import ConnectorConfig

ENV = {"NS_CK": "ck-fake", "NS_CS": "cs-fake", "NS_TK": "tk-fake", "NS_TS": "ts-fake"}
SETTINGS: dict[str, Any] = {
    "account_id": "1234567_SB1",
    "consumer_key": "${env:NS_CK}", "consumer_secret": "${env:NS_CS}",
    "token_id": "${env:NS_TK}", "token_secret": "${env:NS_TS}",
    "entities": ["US01", "GB01"],
    "subsidiaries": {"US01": {"id": "1", "currency": "USD"},
                     "GB01": {"id": "3", "currency": "GBP"}},
    "currencies": {"USD": "1", "GBP": "2", "EUR": "4"},
    "accounts": {"1100": "122", "4000": "54", "2400": "61", "5000": "70"},
    "ar_accounts": {"USD": "122", "EUR": "123"},
    "tax_codes": {"US-EXEMPT": "-7", "GB-VAT-STD": "6"},
    "items": {"4000": "210", "2400": "211"},
    "dimensions": {"service_line": {"advisory": "7"}},
    "deferred_account": "2400",  # the fake's deferred account (the default is 2300)
}


def seeded(**kw: Any) -> FakeNetSuite:
    fake = FakeNetSuite(**kw)
    b = fake.books
    b.seed("subsidiary", "1", name="Northwind US", currency="1")
    b.seed("subsidiary", "3", name="Northwind UK", currency="2")
    for internal, symbol in (("1", "USD"), ("2", "GBP"), ("4", "EUR")):
        b.seed("currency", internal, symbol=symbol)
    for internal, number in (("122", "1100"), ("123", "1101"), ("54", "4000"),
                             ("61", "2400"), ("70", "5000")):
        b.seed("account", internal, acctnumber=number)
    b.seed("salestaxitem", "-7", itemid="-Not Taxable-", rate="0")
    b.seed("salestaxitem", "6", itemid="S-GB", rate="20")
    b.seed("item", "210", itemid="Consulting", incomeaccount="54")
    b.seed("item", "211", itemid="Consulting (deferred)", incomeaccount="61")
    b.seed("classification", "7", name="Advisory")
    return fake


def connector(fake: FakeNetSuite, slept: list[float] | None = None,
              **settings: Any) -> NetSuiteConnector:
    wiring = Wiring(transport=httpx.MockTransport(fake),
                    sleep=(slept if slept is not None else []).append, env=ENV)
    return build(ConnectorConfig("erp", "netsuite", SETTINGS | settings), wiring)


CUSTOMER = {"customer_id": "CUS-1", "external_id": "0015g00000XyZ", "name": "Acme Corp",
            "country": "US", "legal_entity": "US01", "tax_profile": "US-EXEMPT",
            "currency": "USD"}


def invoice(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "document": "invoice", "number": "INV-2026-0001", "entity": "US01",
        "contract": "C-1", "customer": "Acme Corp", "customer_id": "CUS-1",
        "customer_external_id": "0015g00000XyZ", "customer_country": "US",
        "currency": "USD", "date": "2026-06-30", "due": "2026-07-30", "period": "2026-06",
        "service_line": "advisory", "subtotal": "1500.00", "tax_code": "US-EXEMPT",
        "tax_rate": "0", "tax": "0.00", "total": "1500.00", "fx": None,
        "lines": [{"description": "Consulting June", "quantity": "10", "unit_price": "120.00",
                   "amount": "1200.00", "deferred": False},
                  {"description": "Retainer July", "quantity": "1", "unit_price": "300.00",
                   "amount": "300.00", "deferred": True}]}
    return base | kw
