"""The transfer-pricing policy: its section in the ledger configuration, and the rates."""

from decimal import Decimal
from pathlib import Path

from syncline.ledger.intercompany import IntercompanyError, TransferPricing
from syncline.ledger.money import Money
from syncline.services.ledger.config import (
    LedgerConfig,
    default_ledger_config,
    ledger_config_from_dict,
    load_ledger_config,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "chart-of-accounts.example.yaml"
ENTITIES = {"US01": {"functional_currency": "USD"}}


def test_default_is_cost_plus_ten_percent() -> None:
    pricing = default_ledger_config().intercompany
    assert (pricing.method, pricing.markup) == ("cost_plus", Decimal("0.10"))
    rate = pricing.rate_for(provider="GB01", recipient="US01", role="consultant",
                            cost_rate=Money.of("80.55", "GBP"))
    assert rate == Money.of("88.61", "GBP")  # 88.605 rounded half-up: a stated hourly rate


def test_the_example_file_sets_a_pair_markup() -> None:
    config = load_ledger_config(EXAMPLE)
    assert isinstance(config, LedgerConfig), config
    pricing = config.intercompany
    assert pricing.markup_for("GB01", "US01") == Decimal("0.08")
    assert pricing.markup_for("US01", "GB01") == Decimal("0.10")


def test_rate_card_by_role_and_provider() -> None:
    config = ledger_config_from_dict({"entities": ENTITIES, "intercompany": {
        "method": "rate_card", "rates": [
            {"role": "consultant", "rate": "95.00", "currency": "GBP", "provider": "GB01"},
            {"role": "consultant", "rate": "110.00", "currency": "USD"}]}})
    assert isinstance(config, LedgerConfig), config
    pricing = config.intercompany
    cost = Money.of("1", "GBP")
    assert pricing.rate_for(provider="GB01", recipient="US01", role="consultant",
                            cost_rate=cost) == Money.of("95.00", "GBP")
    assert pricing.rate_for(provider="DE01", recipient="US01", role="consultant",
                            cost_rate=cost) == Money.of("110.00", "USD")
    missing = pricing.rate_for(provider="GB01", recipient="US01", role="partner",
                               cost_rate=cost)
    assert isinstance(missing, IntercompanyError) and missing.problem == "no_transfer_rate"


def test_a_bad_section_says_where() -> None:
    problems = ledger_config_from_dict({"entities": ENTITIES, "intercompany": {
        "method": "cost_plus_plus", "markup": 0.1,
        "pairs": [{"provider": "GB01", "markup": "0.05"}],
        "rates": [{"role": "consultant", "rate": "95", "currency": "XXX"}]}})
    assert isinstance(problems, tuple)
    assert {p.where for p in problems} == {"intercompany.method", "intercompany.markup",
                                           "intercompany.pairs[0]", "intercompany.rates[0]"}
    assert isinstance(ledger_config_from_dict({"entities": ENTITIES,
                                               "intercompany": "cost plus"}), tuple)
    rate_card_without_rates = ledger_config_from_dict({"entities": ENTITIES, "intercompany": {
        "method": "rate_card"}})
    assert isinstance(rate_card_without_rates, tuple)
    assert rate_card_without_rates[0].where == "intercompany.rates"


def test_describe() -> None:
    assert TransferPricing().describe() == "cost plus 0.10"
    assert "GB01->US01 0.05" in TransferPricing(
        pair_markups=(("GB01", "US01", Decimal("0.05")),)).describe()
