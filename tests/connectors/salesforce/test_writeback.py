"""The crm.status.update target: PATCH by external id, idempotent, refusals vs retries."""

from __future__ import annotations

import json

import pytest

from syncline.connectors.registry import KIND_MODULES
from syncline.connectors.salesforce.fake import FakeOrg
from syncline.connectors.salesforce.settings import SettingsInvalid
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.services.messaging.delivery import Refused, TransientFailure
from tests.connectors.salesforce.conftest import full_settings, load_deals, simulated

S = full_settings()
STATUS = {"deal_id": "OPP-1001", "status": "synced", "detail": "project P-1001 live",
          "internal_note": "not configured: not sent"}


def patches(org: FakeOrg) -> list:  # type: ignore[type-arg]
    return [r for r in org.requests if r.method == "PATCH"]


def test_status_is_patched_by_external_id_with_the_configured_fields(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    (opp_id,) = load_deals(org, [d for d in simulated() if d["deal_id"] == "OPP-1001"], S)
    receipt = connect().status_target().deliver("crm.status.update", STATUS, "out-1")
    (sent,) = patches(org)
    assert str(sent.url) == ("https://acme.my.salesforce.com/services/data/v62.0/sobjects/"
                             "Opportunity/Syncline_Deal_Id__c/OPP-1001?updateOnly=true")
    assert json.loads(sent.content) == {"Syncline_Status__c": "synced",
                                        "Syncline_Status_Detail__c": "project P-1001 live"}
    assert sent.headers["Sforce-Call-Options"] == "client=syncline"
    assert sent.headers["Authorization"].startswith("Bearer ")
    assert receipt == "Opportunity/Syncline_Deal_Id__c/OPP-1001"  # 204: no body
    assert org.store["Opportunity"][opp_id]["Syncline_Status__c"] == "synced"


def test_the_same_write_twice_leaves_one_record_in_the_same_state(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    load_deals(org, [d for d in simulated() if d["deal_id"] == "OPP-1001"], S)
    org.update_status = 200  # unconfirmed: 200 with a body or 204 (connectors.md §11)
    target = connect().status_target()
    first = target.deliver("crm.status.update", STATUS, "out-1")
    second = target.deliver("crm.status.update", STATUS, "out-1")
    assert first == second and first.startswith("Opportunity/006")
    assert len(org.store["Opportunity"]) == 1
    one, two = (json.loads(r.content) for r in patches(org))
    assert one == two


def test_an_unknown_deal_is_refused_not_created(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused, match="NOT_FOUND"):
        connect().status_target().deliver("crm.status.update", STATUS, "out-1")
    assert "Opportunity" not in org.store


def test_several_matches_are_refused(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    org.put("Opportunity", {"Syncline_Deal_Id__c": "OPP-1001"})
    org.put("Opportunity", {"Syncline_Deal_Id__c": "OPP-1001"})
    with pytest.raises(Refused, match="Unique"):
        connect().status_target().deliver("crm.status.update", STATUS, "out-1")


def test_a_field_salesforce_does_not_have_is_refused(connect, org: FakeOrg) -> None:  # type: ignore[no-untyped-def]
    org.put("Opportunity", {"Syncline_Deal_Id__c": "OPP-1001"})
    block = {"external_id_field": "Syncline_Deal_Id__c", "fields": {"status": "Nope__c"}}
    with pytest.raises(Refused, match="INVALID_FIELD"):
        connect(status_writeback=block).status_target().deliver(
            "crm.status.update", STATUS, "out-1")


def test_throttling_and_outages_are_transient(connect, org: FakeOrg, sleeps) -> None:  # type: ignore[no-untyped-def]
    org.put("Opportunity", {"Syncline_Deal_Id__c": "OPP-1001"})
    target = connect().status_target()
    org.limit_exceeded = 99
    with pytest.raises(TransientFailure, match="throttled"):
        target.deliver("crm.status.update", STATUS, "out-1")
    org.limit_exceeded, org.forbidden = 0, True
    with pytest.raises(TransientFailure, match="INSUFFICIENT_ACCESS"):
        target.deliver("crm.status.update", STATUS, "out-1")


def test_other_kinds_and_payloads_without_a_deal_are_refused(connect) -> None:  # type: ignore[no-untyped-def]
    target = connect().status_target()
    with pytest.raises(Refused):
        target.deliver("erp.invoice.create", STATUS, "out-1")
    with pytest.raises(Refused):
        target.deliver("crm.status.update", {"status": "x"}, "out-1")


def test_settings_name_every_problem() -> None:
    with pytest.raises(SettingsInvalid) as caught:
        from syncline.connectors.salesforce.settings import parse

        parse(ConnectorConfig("crm", "salesforce", {
            "instance_url": "http://insecure", "fields": {"end_date": None, "bogus": "X__c"},
            "status_writeback": {"external_id_field": "Id"},
            "values": {"billing_type": {"T&M": "hourly"}}}))
    text = str(caught.value)
    for key in ("instance_url", "fields.end_date", "fields.bogus", "status_writeback",
                "values.billing_type"):
        assert key in text
    assert KIND_MODULES["salesforce"] == "syncline.connectors.salesforce"


def test_the_example_config_parses() -> None:
    from pathlib import Path

    from syncline.connectors.salesforce.settings import parse
    from syncline.connectors.sdk.config import load

    path = Path(__file__).parents[3] / "config" / "connectors" / "salesforce.example.yaml"
    (config,) = load(path, kinds={"salesforce"})
    s = parse(config)
    assert s.since == "2026-01-01T00:00:00Z" and s.amendments == "opportunity"
    assert s.status_id_field == s.fields["deal_id"] == "Syncline_Deal_Id__c"
