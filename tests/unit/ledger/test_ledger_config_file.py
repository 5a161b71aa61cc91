"""The ledger configuration file (YAML) and its example in config/."""

from pathlib import Path

from syncline.ledger.periods import ClosedPeriodPolicy
from syncline.services.ledger.config import (
    LedgerConfig,
    ledger_config_from_dict,
    load_ledger_config,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "chart-of-accounts.example.yaml"


def test_the_example_file_loads() -> None:
    config = load_ledger_config(EXAMPLE)
    assert isinstance(config, LedgerConfig), config
    assert config.functional_currencies == {"US01": "USD", "UK01": "GBP"}
    assert config.charts["UK01"].code("accounts_receivable") == "11000"
    assert config.charts["UK01"].code("revenue:training") == "40300"
    rule = config.rules.for_event("billing.labor_cost")
    assert rule is not None and rule.lines[0].role == "wip"
    assert config.rules.for_event("revenue.true_up") is not None  # the built-in rules stay
    assert config.closed_period_policy is ClosedPeriodPolicy.REFUSE


def test_problems_say_where_they_are(tmp_path: Path) -> None:
    problems = ledger_config_from_dict({
        "entities": {"US01": {"functional_currency": "XXX",
                              "overrides": {"fx_gain_loss": None}}},
        "closed_period_policy": "sometimes",
        "posting_rules": [{"event": "x", "lines": []}],
    })
    assert isinstance(problems, tuple)
    wheres = {p.where for p in problems}
    assert {"entities.US01.overrides.fx_gain_loss", "entities.US01.functional_currency",
            "closed_period_policy", "posting_rules[x]"} <= wheres
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just a list\n")
    assert isinstance(load_ledger_config(bad), tuple)
