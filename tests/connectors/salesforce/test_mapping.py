"""The pure mapping: a documented SOQL row → deal.closed_won; refusals name the Opportunity
and link to it; amendments in both configured shapes → contract.amended."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncline.connectors.salesforce.amendments import amendment_opportunity, change_order
from syncline.connectors.salesforce.events import change_order_event, opportunity_event
from syncline.connectors.salesforce.mapping import deal_data
from syncline.connectors.sdk.errors import MappingError
from syncline.schemas import validate_event
from tests.connectors.salesforce.conftest import full_settings

FIXTURES = Path(__file__).parents[2] / "fixtures" / "salesforce"
MINIMAL = {"fields": {"end_date": "Contract_End__c"}, "line_fields": {},
           "status_writeback": {}, "values": {}}
LINK = "https://acme.my.salesforce.com/lightning/r/Opportunity/0065e00000AbCdEAAV/view"


def documented_row() -> dict[str, Any]:
    body = json.loads((FIXTURES / "query_closed_won.json").read_text(), parse_float=Decimal)
    row: dict[str, Any] = body["records"][0]
    return row


def test_the_documented_row_with_only_native_fields_and_defaults() -> None:
    s = full_settings(**MINIMAL, defaults={"billing_type": "fixed_fee"})
    data = deal_data(documented_row(), s)
    assert data == {
        "deal_id": "0065e00000AbCdEAAV",
        "customer": {"external_id": "0015e00000XyZ12AAB", "name": "Fenwick Housing plc",
                     "country": "GB"},
        "currency": "GBP",
        "contract": {"number": "0065e00000AbCdEAAV", "start_date": "2026-07-01",
                     "end_date": "2027-06-30", "billing_type": "fixed_fee"},
        "lines": [
            {"line_id": "00k5e00000Ab1AAA", "kind": "fixed_fee",
             "description": "Implementation, fixed fee", "amount": "120000.00"},
            {"line_id": "00k5e00000Ab2AAA", "kind": "fixed_fee",
             "description": "Fenwick Data platform build Support", "amount": "54006.00"},
        ],
        "project": {"code": "0065e00000AbCdEAAV", "name": "Fenwick Data platform build",
                    "template": "advisory"},
    }


def test_a_retainer_line_is_billed_at_its_unit_price_per_month() -> None:
    s = full_settings(**MINIMAL, defaults={"billing_type": "retainer"})
    lines = deal_data(documented_row(), s)["lines"]
    assert [line["amount"] for line in lines] == ["120000.00", "4500.50"]


def test_time_and_materials_lines_carry_no_amount() -> None:
    s = full_settings(**MINIMAL)
    assert all("amount" not in line for line in deal_data(documented_row(), s)["lines"])


def test_lines_follow_sort_order() -> None:
    row = documented_row()
    items = row["OpportunityLineItems"]["records"]
    items[0]["SortOrder"], items[1]["SortOrder"] = 2, 1
    ids = [line["line_id"] for line in deal_data(row, full_settings(**MINIMAL))["lines"]]
    assert ids == ["00k5e00000Ab2AAA", "00k5e00000Ab1AAA"]


def refusal(row: dict[str, Any], **settings: Any) -> MappingError:
    with pytest.raises(MappingError) as caught:
        deal_data(row, full_settings(**{**MINIMAL, **settings}))
    assert caught.value.record_id == "0065e00000AbCdEAAV" and caught.value.link == LINK
    assert LINK in str(caught.value)
    return caught.value


def test_missing_line_items_are_refused_with_the_opportunity_link() -> None:
    row = documented_row()
    row["OpportunityLineItems"] = None  # Salesforce's empty child relationship
    assert "missing line items" in refusal(row).reason


def test_an_unknown_won_stage_is_refused() -> None:
    row = documented_row()
    row["StageName"] = "Closed Won - Pending Legal"
    bad = refusal(row, won_stages=["Closed Won"])
    assert "unknown stage 'Closed Won - Pending Legal'" in bad.reason


def test_a_configured_custom_field_left_empty_is_refused() -> None:
    row = documented_row()
    row["Contract_End__c"] = None
    assert refusal(row).reason == "missing end_date: field Contract_End__c is empty"


def test_a_configured_legal_entity_left_empty_is_refused_not_defaulted() -> None:
    row = documented_row()
    row["Account"]["Legal_Entity__c"] = None
    bad = refusal(row, fields={"end_date": "Contract_End__c",
                               "legal_entity": "Account.Legal_Entity__c"})
    assert bad.reason == "missing legal_entity: field Account.Legal_Entity__c is empty"


def test_a_picklist_value_outside_the_map_is_refused_and_a_mapped_label_is_read() -> None:
    row = documented_row()
    row["Billing_Type__c"] = "Time & Materials"
    fields = {"end_date": "Contract_End__c", "billing_type": "Billing_Type__c"}
    assert "not one of" in refusal(row, fields=fields).reason
    s = full_settings(**{**MINIMAL, "fields": fields,
                         "values": {"billing_type": {"Time & Materials": "time_and_materials"}}})
    assert deal_data(row, s)["contract"]["billing_type"] == "time_and_materials"


def test_bad_json_in_a_terms_field_is_refused() -> None:
    row = documented_row()
    row["Rates_JSON__c"] = "[{role: 'x'}"
    bad = refusal(row, fields={"end_date": "Contract_End__c", "rates": "Rates_JSON__c"})
    assert bad.reason.startswith("rates (Rates_JSON__c): not valid JSON")


def amendment_row() -> dict[str, Any]:
    row = documented_row()
    row["Amends_Deal__c"] = "OPP-1001"
    row["Amendment_Reason__c"] = "scope extension"
    items = row["OpportunityLineItems"]["records"]
    items[0].update(Action__c="add_line", Kind__c="fixed_fee")
    items[1].update(Action__c="change_price", Syncline_Line_Id__c="C-1001-L1",
                    Kind__c="retainer")
    return row


def test_an_amendment_opportunity_becomes_contract_amended() -> None:
    s = full_settings(**{
        **MINIMAL, "amendments": {"mode": "opportunity"},
        "fields": {"end_date": "Contract_End__c", "amends": "Amends_Deal__c",
                   "amendment_reason": "Amendment_Reason__c"},
        "line_fields": {"action": "Action__c", "kind": "Kind__c"}})
    row = amendment_row()
    assert amendment_opportunity(row, s) == {
        "deal_id": "OPP-1001", "amendment_id": "0065e00000AbCdEAAV",
        "effective_date": "2026-07-01", "reason": "scope extension",
        "changes": [
            {"action": "add_line", "line_id": "00k5e00000Ab1AAA", "kind": "fixed_fee",
             "description": "Implementation, fixed fee", "amount": "120000.00"},
            {"action": "change_price", "line_id": "00k5e00000Ab2AAA", "amount": "4500.50"},
        ]}
    event = opportunity_event(row, s, "salesforce/crm")
    assert event["type"] == "contract.amended" and validate_event(event) == []
    assert event["subject"] == "deal/OPP-1001"


def test_a_change_order_record_becomes_contract_amended() -> None:
    s = full_settings(**MINIMAL, amendments={
        "mode": "change_order", "object": "Change_Order__c", "lines": "Change_Lines__r",
        "fields": {"deal_id": "Deal_Id__c", "effective_date": "Effective_Date__c",
                   "reason": "Reason__c"},
        "line_fields": {"action": "Action__c", "line_id": "Line_Id__c", "cap_id": "Cap__c",
                        "limit": "Limit__c", "hours": "Hours__c", "amount": "Amount__c"}})
    record = {"attributes": {"type": "Change_Order__c"}, "Id": "a0X5e000001AbcAAA",
              "SystemModstamp": "2026-07-02T08:00:00.000+0000", "Deal_Id__c": "OPP-1001",
              "Effective_Date__c": "2026-08-01", "Reason__c": None,
              "Change_Lines__r": {"totalSize": 2, "done": True, "records": [
                  {"Id": "a0Y1", "Action__c": "change_cap", "Cap__c": "NTE-C-1001",
                   "Limit__c": Decimal("90000"), "Line_Id__c": None, "Hours__c": None,
                   "Amount__c": None},
                  {"Id": "a0Y2", "Action__c": "top_up_block", "Hours__c": Decimal("40.0"),
                   "Amount__c": Decimal("6000"), "Line_Id__c": None, "Cap__c": None,
                   "Limit__c": None}]}}
    assert change_order(record, s) == {
        "deal_id": "OPP-1001", "amendment_id": "a0X5e000001AbcAAA",
        "effective_date": "2026-08-01",
        "changes": [{"action": "change_cap", "cap_id": "NTE-C-1001", "limit": "90000.00"},
                    {"action": "top_up_block", "hours": "40.00", "amount": "6000.00"}]}
    event = change_order_event(record, s, "salesforce/crm")
    assert validate_event(event) == [] and event["id"].startswith("Change_Order__c/a0X5e")
    record["Change_Lines__r"] = None
    with pytest.raises(MappingError, match="missing change lines") as caught:
        change_order(record, s)
    assert caught.value.link == ("https://acme.my.salesforce.com/lightning/r/Change_Order__c/"
                                 "a0X5e000001AbcAAA/view")
