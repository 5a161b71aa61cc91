"""Charts per entity from a template plus plain-dict overrides, and their validation."""

from syncline.ledger.accounts import (
    DEFAULT_CHART,
    DEFAULT_TEMPLATE,
    REQUIRED_ROLES,
    AccountType,
    ChartError,
    ChartOfAccounts,
    chart_from_template,
    charts_from_config,
    validate_chart,
)


def test_default_template_maps_every_required_role_once() -> None:
    assert validate_chart(DEFAULT_CHART) == ()
    assert DEFAULT_CHART.code("accounts_receivable") == "1100"


def test_existing_role_lookup_still_falls_back_for_unknown_service_lines() -> None:
    assert DEFAULT_CHART.code("revenue:training") == DEFAULT_CHART.code("revenue:consulting")


def test_override_changes_code_and_name_and_keeps_type() -> None:
    chart = chart_from_template("UK01", overrides={
        "accounts_receivable": {"code": 11000, "name": "Trade debtors"},
    })
    assert isinstance(chart, ChartOfAccounts)
    ar = chart.for_role("accounts_receivable")
    assert (ar.code, ar.name, ar.type) == ("11000", "Trade debtors", AccountType.ASSET)
    assert chart.entity_id == "UK01"


def test_override_adds_a_service_line_and_removes_a_role() -> None:
    chart = chart_from_template("US01", overrides={
        "revenue:training": {"code": "4030", "name": "Revenue - training", "type": "revenue"},
        "revenue:managed_services": None,
    })
    assert isinstance(chart, ChartOfAccounts)
    assert chart.code("revenue:training") == "4030"
    assert chart.by_code("4020") is None


def test_missing_required_role_and_duplicate_code_are_reported_together() -> None:
    errors = chart_from_template("US01", overrides={
        "fx_gain_loss": None,
        "wip": {"code": "1100"},
    })
    assert isinstance(errors, tuple)
    problems = {(e.problem, e.role) for e in errors}
    assert ("missing_role", "fx_gain_loss") in problems
    assert ("duplicate_code", "wip") in problems
    assert all(e.entity_id == "US01" for e in errors)


def test_new_role_without_type_is_a_located_error() -> None:
    errors = chart_from_template("US01", overrides={"revenue:audit": {"code": "4040",
                                                                      "name": "Audit"}})
    assert errors == (ChartError("US01", "bad_account",
                                 "account 4040 has type None; expected one of asset, liability, "
                                 "equity, revenue, expense", role="revenue:audit", code="4040"),)


def test_charts_from_config_builds_one_chart_per_entity() -> None:
    config = {
        "entities": {
            "US01": {},
            "UK01": {"overrides": {"tax_payable": {"code": "2210", "name": "VAT payable"}}},
        },
    }
    charts = charts_from_config(config)
    assert isinstance(charts, dict)
    assert charts["US01"].accounts == DEFAULT_TEMPLATE
    assert charts["UK01"].code("tax_payable") == "2210"


def test_charts_from_config_with_own_template_and_required_roles() -> None:
    config = {
        "template": [
            {"code": "100", "name": "AR", "type": "asset", "role": "accounts_receivable"},
            {"code": "400", "name": "Sales", "type": "revenue", "role": "revenue:consulting"},
        ],
        "required_roles": ["accounts_receivable", "revenue:consulting"],
        "entities": {"X1": None},
    }
    charts = charts_from_config(config)
    assert isinstance(charts, dict)
    assert [a.code for a in charts["X1"].accounts] == ["100", "400"]


def test_charts_from_config_refuses_missing_entities() -> None:
    errors = charts_from_config({})
    assert isinstance(errors, tuple)
    assert errors[0].problem == "bad_config"


def test_required_roles_cover_the_issue_list() -> None:
    for role in ("accounts_receivable", "unbilled_receivable", "contract_liability", "wip",
                 "labor_cost", "expense_recovery", "tax_payable", "fx_gain_loss",
                 "intercompany_receivable", "intercompany_payable"):
        assert role in REQUIRED_ROLES
