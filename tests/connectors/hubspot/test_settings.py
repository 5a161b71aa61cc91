"""Settings: the example YAML builds; every mistake is reported at once, with its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncline.connectors.hubspot import HubSpotConnector
from syncline.connectors.registry import Wiring, build, configured
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid

EXAMPLE = Path(__file__).parents[3] / "config" / "connectors" / "hubspot.example.yaml"


def test_the_example_configuration_builds() -> None:
    (config,) = configured(EXAMPLE)
    connector = build(config, Wiring(env={"HUBSPOT_TOKEN": "pat-sekrit-1",
                                            "HUBSPOT_CLIENT_SECRET": "client-sekrit-2"}))
    assert isinstance(connector, HubSpotConnector)
    assert [s.name for s in connector.streams()] == ["deals"]
    terms = connector.settings.terms
    assert terms.stages == {"default": ("closedwon",), "775001": ("775009",)}
    assert terms.link("42") == "https://app.hubspot.com/contacts/62515/record/0-3/42"
    shown = repr(connector.settings)  # secrets never printed
    assert "sekrit" not in shown and "Secret('***')" in shown


def test_mistakes_are_reported_together_with_their_keys() -> None:
    config = ConnectorConfig("crm", "hubspot", {
        "token": "pat-inline", "closed_won_stages": {}, "fields": {"discount": "x"},
        "defaults": {"billing_type": "hourly"}, "page_size": 500, "colour": "red",
        "since": "last tuesday"})
    with pytest.raises(ConnectorConfigInvalid) as caught:
        build(config, Wiring(env={}))
    text = str(caught.value)
    for key in ("unknown keys colour", "settings.token", "closed_won_stages",
                "fields.discount", "defaults.billing_type", "page_size", "since"):
        assert key in text


def test_exactly_one_of_token_or_oauth() -> None:
    config = ConnectorConfig("crm", "hubspot", {"closed_won_stages": {"default": "closedwon"}})
    with pytest.raises(ConnectorConfigInvalid, match="exactly one of token"):
        build(config, Wiring(env={}))
