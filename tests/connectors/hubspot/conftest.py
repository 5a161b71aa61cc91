"""A fake HubSpot seeded from the documented fixtures, and the connector wired to it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.connectors.hubspot import HubSpotConnector, build
from syncline.connectors.hubspot.fake import FakeHubSpot
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.config import ConnectorConfig
from tests.conftest import fixed_clock

FIXTURES = Path(__file__).parents[2] / "fixtures" / "hubspot"
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
DEAL = "8123456789"

SETTINGS: dict[str, Any] = {
    "token": "${env:HUBSPOT_TOKEN}",
    "webhook_secret": "${env:HUBSPOT_CLIENT_SECRET}",
    "portal_id": "62515",
    "closed_won_stages": {"default": ["closedwon"], "775001": ["775009"]},
    "fields": {"billing_type": "syncline_billing_type", "start_date": "syncline_start_date",
               "end_date": "syncline_end_date", "template": "syncline_template",
               "legal_entity": "syncline_legal_entity", "tax_profile": "syncline_tax_profile"},
    "country_codes": {"United Kingdom": "GB"},
}
ENV = {"HUBSPOT_TOKEN": TOKEN, "HUBSPOT_CLIENT_SECRET": SECRET,
       "HUBSPOT_REFRESH_TOKEN": "refresh-1", "HUBSPOT_OAUTH_SECRET": "fake-secret"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def seeded(fake: FakeHubSpot | None = None) -> FakeHubSpot:
    """The fixture deal (with its two line items and its company) in a fake HubSpot."""
    fake = fake or FakeHubSpot(token=TOKEN)
    for record in fixture("line_items_batch_read.json")["results"]:
        fake.add("line_items", record["id"], **record["properties"])
    for record in fixture("companies_batch_read.json")["results"]:
        fake.add("companies", record["id"], **record["properties"])
    deal = fixture("search_deals.json")["results"][0]
    props = dict(deal["properties"])
    fake.add_deal(deal["id"], modified=props.pop("hs_lastmodifieddate"),
                  line_items=("4400001", "4400002"), companies=("6100042",), **props)
    return fake


def add_deal(fake: FakeHubSpot, deal_id: str, modified: str, **props: Any) -> None:
    """Another closed-won deal like the fixture one, sharing its lines and company."""
    base = dict(fixture("search_deals.json")["results"][0]["properties"])
    base.pop("hs_lastmodifieddate")
    base.update(hs_object_id=deal_id, **props)
    fake.add_deal(deal_id, modified=modified, line_items=("4400001",), companies=("6100042",),
                  **base)


Make = Callable[..., HubSpotConnector]


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def make(slept: list[float]) -> Make:
    def _make(fake: FakeHubSpot, name: str = "crm", **overrides: Any) -> HubSpotConnector:
        settings = {**SETTINGS, **overrides}
        settings = {k: v for k, v in settings.items() if v is not None}
        config = ConnectorConfig(name, "hubspot", settings)
        return build(config, Wiring(transport=httpx.MockTransport(fake), sleep=slept.append,
                                    clock=fixed_clock, env=ENV))
    return _make


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Syncline]:
    yield bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}"),
                    clock=fixed_clock, durable=False)


def search_bodies(fake: FakeHubSpot) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in fake.requests if r.url.path.endswith("/search")]
