"""The mapping reads back exactly the canonical deal the fake's records were made from: over
the simulator's deals and over generated ones (fake/records.py is mapping.py's inverse)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncline.connectors.salesforce.client import decoded
from syncline.connectors.salesforce.fake import FakeOrg, Unrepresentable, deal_records
from syncline.connectors.salesforce.mapping import deal_data
from syncline.schemas import validate_event
from syncline.simulator.model import SimulationConfig
from syncline.simulator.stream import simulate
from tests.connectors.salesforce.conftest import full_settings

S = full_settings()


def simulated_deals(seed: int) -> list[dict[str, Any]]:
    sim = simulate(SimulationConfig(seed=seed, customers=12, months=3))
    return [e["data"] for e in sim.events
            if isinstance(e, dict) and e.get("type") == "deal.closed_won"]


def through_the_wire(records: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Load the records into a fresh fake org and read the Opportunity back as SOQL JSON."""
    org = FakeOrg(instance_url="https://acme.my.salesforce.com")
    org.load(records)
    org.tokens.add("t")
    from syncline.connectors.salesforce import soql

    response = org(httpx.Request("GET", f"{org.instance_url}{org.api}/query",
                                 params={"q": soql.opportunities(S, None)},
                                 headers={"Authorization": "Bearer t"}))
    assert response.status_code == 200, response.text
    (row,) = decoded(response)["records"]
    return row


@pytest.mark.parametrize("seed", [3, 11])
def test_every_simulated_deal_round_trips_exactly(seed: int) -> None:
    deals = simulated_deals(seed)
    assert len(deals) > 5
    for data in deals:
        assert deal_data(through_the_wire(deal_records(data, S)), S) == data


def test_round_trip_exercises_every_shape() -> None:
    deals = simulated_deals(3)
    kinds = {d["contract"]["billing_type"] for d in deals}
    assert kinds == {"time_and_materials", "fixed_fee", "retainer"}
    assert any("milestones" in d for d in deals) and any("rates" in d for d in deals)


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2,
                    allow_nan=False, allow_infinity=False).map(str)
code = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=20)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
               max_size=40).filter(str.strip)
day = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)).map(
    lambda d: d.isoformat())


@st.composite
def lines(draw: st.DrawFn, billing_type: str) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("time_and_materials", "fixed_fee", "retainer")))
        line: dict[str, Any] = {"line_id": f"L{i}-{draw(code)}", "kind": kind,
                                "description": draw(text)}
        if kind != "time_and_materials":
            line["amount"] = draw(money)
        for opt in ("estimated_hours", "estimated_cost"):
            if draw(st.booleans()):
                line[opt] = draw(money)
        if draw(st.booleans()):
            line["recognition"] = draw(st.sampled_from(("hours", "ratable", "cost_to_cost")))
        out.append(line)
    return out


@st.composite
def deals(draw: st.DrawFn) -> dict[str, Any]:
    billing_type = draw(st.sampled_from(("time_and_materials", "fixed_fee", "retainer")))
    data: dict[str, Any] = {
        "deal_id": draw(code), "customer": {"external_id": draw(code), "name": draw(text)},
        "legal_entity": draw(code), "tax_profile": draw(code),
        "currency": draw(st.sampled_from(("USD", "EUR", "GBP"))),
        "contract": {"number": draw(code), "start_date": draw(day), "end_date": draw(day),
                     "billing_type": billing_type},
        "lines": draw(lines(billing_type)),
        "project": {"code": draw(code), "name": draw(text),
                    "template": draw(st.sampled_from(("implementation", "advisory")))},
    }
    if draw(st.booleans()):
        data["customer"]["country"] = draw(st.sampled_from(("GB", "US", "DE")))
    if draw(st.booleans()):
        data["contract"]["payment_terms_days"] = draw(st.integers(0, 365))
    if draw(st.booleans()):
        data["rates"] = [{"role": draw(code), "rate": draw(money)}]
    if draw(st.booleans()):
        moment = draw(st.datetimes(datetime(2000, 1, 1), datetime(2099, 1, 1)))
        data["closed_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return data


@given(deals())
def test_generated_deals_round_trip(data: dict[str, Any]) -> None:
    assert deal_data(through_the_wire(deal_records(data, S)), S) == data


def test_round_trip_is_valid_against_the_schema() -> None:
    from syncline.connectors.salesforce.events import opportunity_event

    data = simulated_deals(3)[0]
    row = through_the_wire(deal_records(data, S))
    event = opportunity_event(row, S, "salesforce/crm")
    assert validate_event(event) == [] and event["data"] == data
    assert event["subject"] == f"deal/{data['deal_id']}"


def test_a_term_without_a_field_must_equal_its_default_or_is_unrepresentable() -> None:
    fields = {"end_date": "Contract_End__c"}  # everything else: the documented defaults
    s = full_settings(fields=fields, line_fields={}, status_writeback={})
    data = simulated_deals(3)[0]
    with pytest.raises(Unrepresentable, match=r"settings\.fields\.billing_email"):
        deal_records(data, s)


def test_money_never_passes_through_float() -> None:
    body = decoded(httpx.Response(200, text='{"records":[{"TotalPrice":1234567.89}]}'))
    assert body["records"][0]["TotalPrice"] == Decimal("1234567.89")
    assert json.dumps(str(body["records"][0]["TotalPrice"])) == '"1234567.89"'
