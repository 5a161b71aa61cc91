"""The example YAML builds; settings mistakes are reported together, by key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncline.connectors.netsuite import build
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid, parse

EXAMPLE = Path(__file__).parents[3] / "config" / "connectors" / "netsuite.example.yaml"
ENV = {"NS_CONSUMER_KEY": "a", "NS_CONSUMER_SECRET": "b", "NS_TOKEN_ID": "c",
       "NS_TOKEN_SECRET": "d"}


def test_the_example_builds() -> None:
    [config] = parse(yaml.safe_load(EXAMPLE.read_text()), kinds={"netsuite"})
    made = build(config, Wiring(env=ENV))
    assert made.settings.base_url == "https://1234567-sb1.suitetalk.api.netsuite.com"
    assert made.settings.subsidiaries["GB01"].currency == "GBP"
    assert [s.name for s in made.streams()] == ["payments"]


def test_mistakes_are_reported_together() -> None:
    with pytest.raises(ConnectorConfigInvalid) as bad:
        build(ConnectorConfig("erp", "netsuite", {
            "account_id": "12 34", "consumer_key": "inline", "entities": ["US01"],
            "subsidiaries": {"US01": {"id": "1"}}, "page_size": 5000}), Wiring(env={}))
    text = "\n".join(bad.value.problems)
    for expected in ("account_id", "consumer_key: secrets are configured as",
                     "token_secret", "subsidiaries.US01", "no subsidiary for entity US01",
                     "items: no service item for account 4000", "page_size: 1 to 1000"):
        assert expected in text
