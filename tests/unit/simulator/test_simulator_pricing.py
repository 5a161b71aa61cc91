"""The simulator's billing inputs: rate cards, month-end FX rates and project closes."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.schemas import validate_event
from syncline.simulator import Simulation, SimulationConfig, simulate


def _of(sim: Simulation, etype: str) -> list[dict[str, Any]]:
    return [e for e in sim.events if isinstance(e, dict) and e["type"] == etype]


def test_default_cards_match_the_reference_rates_then_one_increase(clean: Simulation) -> None:
    cards = {(e["data"]["card_id"], e["data"]["version"]): e for e in
             _of(clean, "rate_card.published")}
    reference: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for rr in DEFAULT_REFERENCE.role_rates:
        reference[rr.rate.currency][rr.role] = rr.rate.amount
    for currency, rates in reference.items():
        v1 = cards[(f"STD-{currency}", 1)]
        v2 = cards[(f"STD-{currency}", 2)]
        assert v1["data"]["scope"] == "default" and v1["data"]["currency"] == currency
        assert v1["data"]["effective_from"] == clean.config.start.isoformat()
        assert v1["time"] == min(e["time"] for e in clean.events if isinstance(e, dict))
        assert {x["role"]: Decimal(x["rate"]) for x in v1["data"]["entries"]} == rates
        assert v1["data"]["billing_increment_hours"] == "0.25"
        effective = date.fromisoformat(v2["data"]["effective_from"])
        assert effective == date(2026, 4, 1)  # the middle of six months, a month start
        assert v2["time"] < f"{effective.isoformat()}T00:00:00Z"  # announced ahead
        for x in v2["data"]["entries"]:
            assert rates[x["role"]] < Decimal(x["rate"]) <= rates[x["role"]] * Decimal("1.05")
        assert (v1["sequence"], v2["sequence"]) == (1, 2)


def test_a_few_customers_have_their_own_cards_below_the_default(clean: Simulation) -> None:
    customers = {e["data"]["customer"]["external_id"]:
                 DEFAULT_REFERENCE.entity(e["data"]["legal_entity"]).functional_currency
                 for e in _of(clean, "deal.closed_won")}  # cards are in the entity's currency
    cards = [e["data"] for e in _of(clean, "rate_card.published")
             if e["data"]["scope"] == "customer"]
    assert 1 <= len(cards) <= len(customers) // 2
    defaults = {(rr.rate.currency, rr.role): rr.rate.amount for rr in DEFAULT_REFERENCE.role_rates}
    for card in cards:
        assert customers[card["scope_key"]] == card["currency"]
        for x in card["entries"]:
            assert Decimal(x["rate"]) < defaults[(card["currency"], x["role"])]


def test_fx_rates_every_month_end_deterministic_and_consistent(clean: Simulation) -> None:
    fx = _of(clean, "fx.rates_published")
    ends = sorted({e["data"]["as_of"] for e in fx})
    assert ends == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31",
                    "2026-06-30"]
    by_day = {(e["data"]["as_of"], e["data"]["base"]): e["data"]["rates"] for e in fx}
    for day in ends:
        usd, gbp = by_day[(day, "USD")], by_day[(day, "GBP")]
        assert set(usd) == {"GBP", "EUR"} and set(gbp) == {"EUR"}
        cross = Decimal(usd["EUR"]) / Decimal(usd["GBP"])
        assert abs(cross - Decimal(gbp["EUR"])) < Decimal("0.0001")
        assert Decimal("0.6") < Decimal(usd["GBP"]) < Decimal("1.0")
    again = simulate(SimulationConfig(seed=8))
    assert [e["data"] for e in _of(again, "fx.rates_published")] != [e["data"] for e in fx]


def test_projects_close_after_their_contract_ends_with_no_clean_time_after(
        clean: Simulation) -> None:
    ends = {e["data"]["project"]["code"]: e["data"]["contract"]["end_date"]
            for e in _of(clean, "deal.closed_won")}
    closes = {e["data"]["project_code"]: e for e in _of(clean, "project.closed")}
    assert closes
    for code, e in closes.items():
        assert e["data"]["closed_on"] == ends[code] < e["time"][:10]
    late = [t for t in _of(clean, "time.approved") if t["data"]["project_code"] in closes
            and t["data"]["work_date"] > closes[t["data"]["project_code"]]["data"]["closed_on"]]
    assert late == []


def test_every_billing_input_validates(clean: Simulation) -> None:
    for etype in ("rate_card.published", "fx.rates_published", "project.closed"):
        events = _of(clean, etype)
        assert events, f"no {etype} event in the clean stream: nothing was validated"
        assert {e["id"]: validate_event(e) for e in events if validate_event(e)} == {}, etype
