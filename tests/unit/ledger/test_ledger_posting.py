"""Posting rules as data: event kind → journal template (role, side, amount key)."""

from datetime import date
from decimal import Decimal

from syncline.ledger.accounts import DEFAULT_CHART, ChartOfAccounts, chart_from_template, for_entity
from syncline.ledger.fx import FxRate
from syncline.ledger.journal import JournalEntry, Side
from syncline.ledger.money import Money
from syncline.ledger.posting import (
    REFERENCE_RULES,
    PostingError,
    PostingRule,
    TemplateLine,
    post,
    post_event,
    rules_from_config,
)

US01 = for_entity(DEFAULT_CHART, "US01")
DAY = date(2024, 3, 15)


def usd(x: str) -> Money:
    return Money.of(x, "USD")


def shape(entry: JournalEntry) -> list[tuple[str, str, str]]:
    return [(ln.account, ln.side.value, str(ln.amount.amount)) for ln in entry.lines]


def test_time_approved_posts_cost_and_right_to_invoice_revenue() -> None:
    entry = post_event(REFERENCE_RULES, "time.approved",
                       {"cost": usd("80"), "revenue": usd("150")},
                       chart=US01, entity_id="US01", posting_date=DAY, source_id="tim_1",
                       params={"service_line": "implementation"})
    assert isinstance(entry, JournalEntry)
    assert shape(entry) == [
        ("5000", "debit", "80.00"),
        ("2100", "credit", "80.00"),
        ("1150", "debit", "150.00"),
        ("4010", "credit", "150.00"),
    ]
    assert (entry.source_type, entry.source_id) == ("time.approved", "tim_1")
    assert entry.description == "Approved time tim_1"


def test_invoice_release_skips_zero_lines() -> None:
    entry = post_event(REFERENCE_RULES, "invoice.released",
                       {"total": usd("110"), "unbilled": usd("100"), "deferred": usd("0"),
                        "tax": usd("10")},
                       chart=US01, entity_id="US01", posting_date=DAY, source_id="inv_1")
    assert isinstance(entry, JournalEntry)
    assert shape(entry) == [("1100", "debit", "110.00"), ("1150", "credit", "100.00"),
                            ("2200", "credit", "10.00")]


def test_negative_amount_posts_on_the_opposite_side() -> None:
    rule = PostingRule("adjust", (TemplateLine("fx_gain_loss", Side.DEBIT, "x"),
                                  TemplateLine("accounts_receivable", Side.CREDIT, "x")))
    entry = post(rule, {"x": usd("-5")}, chart=US01, entity_id="US01", posting_date=DAY,
                 source_id="adj_1")
    assert isinstance(entry, JournalEntry)
    assert shape(entry) == [("7900", "credit", "5.00"), ("1100", "debit", "5.00")]


def test_firm_maps_an_event_to_its_own_accounts_without_code() -> None:
    chart = chart_from_template("UK01", overrides={"labor_cost": {"code": "6100"},
                                                   "accrued_payroll": {"code": "2150"}})
    assert isinstance(chart, ChartOfAccounts)
    rules = rules_from_config([{
        "event": "time.approved",
        "description": "Time {source_id} on {project}",
        "lines": [
            {"role": "labor_cost", "side": "debit", "amount": "cost"},
            {"role": "accrued_payroll", "side": "credit", "amount": "cost"},
        ],
    }])
    assert not isinstance(rules, tuple)
    entry = post_event(rules, "time.approved", {"cost": Money.of("40", "GBP")}, chart=chart,
                       entity_id="UK01", posting_date=DAY, source_id="tim_9",
                       params={"project": "prj_7"})
    assert isinstance(entry, JournalEntry)
    assert shape(entry) == [("6100", "debit", "40.00"), ("2150", "credit", "40.00")]
    assert entry.description == "Time tim_9 on prj_7"
    assert rules.for_event("billing.invoice_released") is not None  # the defaults stay


def test_bad_data_is_an_error_value() -> None:
    common = {"chart": US01, "entity_id": "US01", "posting_date": DAY, "source_id": "s"}
    missing = post_event(REFERENCE_RULES, "time.approved", {"cost": usd("1"), "revenue": usd("2")},
                         **common)
    assert isinstance(missing, PostingError) and missing.problem == "missing_param"
    missing_amount = post_event(REFERENCE_RULES, "payment.received", {}, **common)
    assert isinstance(missing_amount, PostingError)
    assert missing_amount.problem == "missing_amount"
    no_rule = post_event(REFERENCE_RULES, "nope", {}, **common)
    assert isinstance(no_rule, PostingError) and no_rule.problem == "no_rule"
    unbalanced = post_event(REFERENCE_RULES, "invoice.released",
                            {"total": usd("100"), "unbilled": usd("90"), "deferred": usd("0"),
                             "tax": usd("0")}, **common)
    assert isinstance(unbalanced, PostingError) and unbalanced.problem == "unbalanced"
    rule = PostingRule("x", (TemplateLine("no_such_role", Side.DEBIT, "a"),
                             TemplateLine("cash", Side.CREDIT, "a")))
    unmapped = post(rule, {"a": usd("1")}, **common)  # type: ignore[arg-type]
    assert isinstance(unmapped, PostingError) and unmapped.problem == "unmapped_role"


def test_functional_amounts_are_added_and_balance() -> None:
    rate = FxRate("EUR", "USD", Decimal("1.0837"), "ECB", date(2024, 3, 14))
    entry = post_event(REFERENCE_RULES, "invoice.released",
                       {"total": Money.of("333.33", "EUR"), "unbilled": Money.of("111.11", "EUR"),
                        "deferred": Money.of("111.11", "EUR"), "tax": Money.of("111.11", "EUR")},
                       chart=US01, entity_id="US01", posting_date=DAY, source_id="inv_2",
                       functional_currency="USD", rates={"EUR": rate})
    assert isinstance(entry, JournalEntry)
    debit = sum(ln.functional.amount for ln in entry.lines  # type: ignore[union-attr]
                if ln.side is Side.DEBIT)
    credit = sum(ln.functional.amount for ln in entry.lines  # type: ignore[union-attr]
                 if ln.side is Side.CREDIT)
    assert debit == credit == Decimal("361.23")
    assert {(ln.fx_rate, ln.fx_source, ln.fx_date) for ln in entry.lines} == {
        (Decimal("1.0837"), "ECB", date(2024, 3, 14))}


def test_missing_rate_is_an_error_value() -> None:
    entry = post_event(REFERENCE_RULES, "payment.received", {"amount": Money.of("1", "EUR")},
                       chart=US01, entity_id="US01", posting_date=DAY, source_id="pay_1",
                       functional_currency="USD", rates={})
    assert isinstance(entry, PostingError) and entry.problem == "missing_rate"


def test_rules_from_config_refuses_bad_rules() -> None:
    errors = rules_from_config([{"event": "x", "lines": [{"role": "cash", "side": "left",
                                                          "amount": "a"},
                                                         {"role": "cash", "side": "debit",
                                                          "amount": "a"}]}])
    assert isinstance(errors, tuple) and errors[0].problem == "bad_rule"
