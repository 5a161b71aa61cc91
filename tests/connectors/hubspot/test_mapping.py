"""The pure mapping: HubSpot deal, line items and company → deal.closed_won, or a refusal."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from syncline.connectors.hubspot.mapping import Terms, closed_won_data, closed_won_event
from syncline.connectors.sdk.errors import MappingError
from syncline.schemas import validate_event
from tests.connectors.hubspot.conftest import DEAL, SETTINGS, fixture

LINK = f"https://app.hubspot.com/contacts/62515/record/0-3/{DEAL}"


def terms(**over: Any) -> Terms:
    base: dict[str, Any] = {"stages": {"default": ("closedwon",)}, "fields": SETTINGS["fields"],
                            "country_codes": {"United Kingdom": "GB"}, "portal_id": "62515"}
    return Terms(**{**base, **over})


def records() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    deal = copy.deepcopy(fixture("search_deals.json")["results"][0])
    lines = copy.deepcopy(fixture("line_items_batch_read.json")["results"])
    companies = copy.deepcopy(fixture("companies_batch_read.json")["results"])
    return deal, lines, companies


def test_the_documented_deal_maps_to_a_valid_closed_won_event() -> None:
    deal, lines, companies = records()
    event = closed_won_event(deal, lines, companies, terms(), source="hubspot/crm")
    assert validate_event(event) == []
    assert event["id"] == f"hubspot-deal/{DEAL}@1782828331402"  # deal id + hs_lastmodifieddate
    assert event["subject"] == f"deal/{DEAL}" and event["sequence"] == 1782828331402
    data = event["data"]
    assert data["customer"] == {"external_id": "6100042", "name": "Northwind Traders Ltd",
                                "country": "GB"}
    assert data["currency"] == "GBP"
    assert data["legal_entity"] == "UK01" and data["tax_profile"] == "UK-STD"
    assert data["contract"] == {"number": f"HS-{DEAL}", "start_date": "2026-07-01",
                                "end_date": "2026-12-31", "billing_type": "fixed_fee",
                                "payment_terms_days": 30}
    assert data["lines"] == [
        {"line_id": "4400001", "kind": "fixed_fee",
         "description": "ERP implementation (fixed fee)", "amount": "36000.00"},
        {"line_id": "4400002", "kind": "fixed_fee", "description": "Data migration",
         "amount": "4500.00"}]
    assert data["project"] == {"code": f"HS-{DEAL}", "name": "Northwind ERP rollout",
                               "template": "implementation"}
    assert data["closed_at"] == "2026-06-30T14:00:00Z"


def test_unconfigured_terms_take_the_documented_defaults() -> None:
    deal, lines, companies = records()
    data = closed_won_data(deal, lines, companies, terms(fields={}, country_codes={}))
    assert data["contract"]["billing_type"] == "time_and_materials"
    assert data["contract"]["start_date"] == "2026-06-30"  # the close date
    assert data["contract"]["end_date"] == "2027-06-29"  # twelve months
    assert data["project"]["template"] == "implementation"
    assert data["legal_entity"] is None and data["tax_profile"] is None
    assert "country" not in data["customer"]  # a country name is never guessed
    assert all("amount" not in ln for ln in data["lines"])  # T&M lines carry no amount
    defaults = terms(fields={}, defaults={"billing_type": "retainer", "term_months": 6,
                                          "legal_entity": "UK01", "payment_terms_days": 45})
    data = closed_won_data(deal, lines, companies, defaults)
    assert data["contract"]["end_date"] == "2026-12-29"
    assert data["contract"]["payment_terms_days"] == 45 and data["legal_entity"] == "UK01"
    assert data["lines"][0]["amount"] == "36000.00"


def test_value_maps_translate_a_portal_value() -> None:
    deal, lines, companies = records()
    deal["properties"]["syncline_billing_type"] = "Time & materials"
    t = terms(value_maps={"billing_type": {"Time & materials": "time_and_materials"}})
    assert closed_won_data(deal, lines, companies, t)["contract"]["billing_type"] \
        == "time_and_materials"


def test_line_terms_from_line_item_properties() -> None:
    deal, lines, companies = records()
    for ln in lines:
        ln["properties"].update(syncline_kind="time_and_materials", syncline_hours="120.5")
    t = terms(line_fields={"kind": "syncline_kind", "estimated_hours": "syncline_hours"})
    data = closed_won_data(deal, lines, companies, t)
    assert data["lines"][0] == {"line_id": "4400001", "kind": "time_and_materials",
                                "description": "ERP implementation (fixed fee)",
                                "estimated_hours": "120.5"}


def refusal_of(deal: dict[str, Any], lines: list[dict[str, Any]],
               companies: list[dict[str, Any]], t: Terms | None = None) -> MappingError:
    with pytest.raises(MappingError) as caught:
        closed_won_data(deal, lines, companies, t or terms())
    err = caught.value
    assert err.record_id == DEAL and DEAL in str(err)
    return err


def test_a_closed_deal_with_no_line_items_is_refused_with_its_link() -> None:
    deal, _, companies = records()
    err = refusal_of(deal, [], companies)
    assert "no line items" in err.reason and err.link == LINK and LINK in str(err)


def test_an_unknown_pipeline_stage_is_refused() -> None:
    deal, lines, companies = records()
    deal["properties"].update(pipeline="775001", dealstage="closedwon")
    assert "not a configured closed-won stage" in refusal_of(deal, lines, companies).reason


def test_a_configured_property_that_is_empty_is_refused_never_defaulted() -> None:
    deal, lines, companies = records()
    deal["properties"]["syncline_billing_type"] = None
    err = refusal_of(deal, lines, companies)
    assert "syncline_billing_type (billing_type) is empty" in err.reason
    deal["properties"]["syncline_billing_type"] = "hourly"
    assert "expected one of" in refusal_of(deal, lines, companies).reason


@pytest.mark.parametrize("change, reason", [
    (lambda d, ls, cs: cs.clear(), "no associated company"),
    (lambda d, ls, cs: d["properties"].update(deal_currency_code=None), "no ISO currency"),
    (lambda d, ls, cs: ls[1]["properties"].update(amount=None), "has no amount"),
    (lambda d, ls, cs: ls[1]["properties"].update(amount="1e3x"), "not a number"),
    (lambda d, ls, cs: cs.append({**cs[0], "id": "6100043"}), "no single primary"),
])
def test_other_bad_input_is_refused(change: Any, reason: str) -> None:
    deal, lines, companies = records()
    change(deal, lines, companies)
    assert reason in refusal_of(deal, lines, companies).reason


def test_the_primary_company_is_chosen_among_several() -> None:
    deal, lines, companies = records()
    companies = [{**companies[0], "primary": True},
                 {"id": "6100043", "properties": {"name": "Other"}}]
    assert closed_won_data(deal, lines, companies, terms())["customer"]["external_id"] \
        == "6100042"


def test_no_link_without_a_portal_id() -> None:
    deal, _, companies = records()
    err = refusal_of(deal, [], companies, terms(portal_id=None))
    assert err.link is None
