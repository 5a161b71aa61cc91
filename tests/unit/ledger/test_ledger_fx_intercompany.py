"""FX: functional amounts and revaluation of open foreign AR; intercompany charges."""

from datetime import date
from decimal import Decimal

from syncline.ledger.accounts import DEFAULT_CHART, for_entity
from syncline.ledger.fx import (
    FxError,
    FxRate,
    RevaluationPolicy,
    foreign_positions,
    functional_imbalance,
    revalue,
)
from syncline.ledger.intercompany import (
    IntercompanyCharge,
    IntercompanyError,
    intercompany_entries,
    intercompany_mismatches,
)
from syncline.ledger.journal import JournalEntry, trial_balance_of
from syncline.ledger.money import Money
from syncline.ledger.posting import REFERENCE_RULES, post_event

US01 = for_entity(DEFAULT_CHART, "US01")
UK01 = for_entity(DEFAULT_CHART, "UK01")


def rate(r: str, day: date, base: str = "EUR", quote: str = "USD") -> FxRate:
    return FxRate(base, quote, Decimal(r), "ECB", day)


def ar_invoice(source: str, total: str, r: str, day: date) -> JournalEntry:
    made = post_event(REFERENCE_RULES, "invoice.released",
                      {"total": Money.of(total, "EUR"), "unbilled": Money.of(total, "EUR"),
                       "deferred": Money.of("0", "EUR"), "tax": Money.of("0", "EUR")},
                      chart=US01, entity_id="US01", posting_date=day, source_id=source,
                      functional_currency="USD", rates={"EUR": rate(r, day)})
    assert isinstance(made, JournalEntry)
    return made


def test_revaluation_of_open_foreign_ar_posts_the_difference_to_fx_gain_loss() -> None:
    books = [ar_invoice("inv_1", "1000", "1.10", date(2024, 3, 5)),
             ar_invoice("inv_2", "500", "1.05", date(2024, 3, 20))]
    positions = foreign_positions(books, "US01", "1100", "USD", date(2024, 3, 31))
    assert isinstance(positions, tuple)
    (pos,) = positions
    assert (pos.balance, pos.carrying) == (Money.of("1500.00", "EUR"),
                                          Money.of("1625.00", "USD"))
    closing = {"EUR": rate("1.12", date(2024, 3, 31))}
    entry = revalue(books, entity_id="US01", functional_currency="USD", closing_rates=closing,
                    as_of=date(2024, 3, 31), chart=US01, source_id="rev_2024-03")
    assert isinstance(entry, JournalEntry)
    # 1500 x 1.12 = 1680 restated vs 1625 carried: a 55.00 USD gain
    assert [(ln.account, ln.side.value, str(ln.amount)) for ln in entry.lines] == [
        ("1100", "debit", "55.00 USD"), ("7900", "credit", "55.00 USD")]
    assert entry.lines[0].fx_source == "ECB" and entry.lines[0].fx_date == date(2024, 3, 31)
    # a second revaluation at the same rate moves nothing (the first is in the carrying amount)
    again = revalue([*books, entry], entity_id="US01", functional_currency="USD",
                    closing_rates=closing, as_of=date(2024, 3, 31), chart=US01, source_id="x")
    assert again is None
    # a lower rate next month reverses part of the gain
    april = revalue([*books, entry], entity_id="US01", functional_currency="USD",
                    closing_rates={"EUR": rate("1.11", date(2024, 4, 30))},
                    as_of=date(2024, 4, 30), chart=US01, source_id="rev_2024-04")
    assert isinstance(april, JournalEntry)
    assert [(ln.account, ln.side.value, str(ln.amount)) for ln in april.lines] == [
        ("1100", "credit", "15.00 USD"), ("7900", "debit", "15.00 USD")]
    assert trial_balance_of([*books, entry, april]).balanced


def test_revaluation_is_a_policy_option_and_needs_rates() -> None:
    books = [ar_invoice("inv_1", "1000", "1.10", date(2024, 3, 5))]
    kw = {"entity_id": "US01", "functional_currency": "USD", "as_of": date(2024, 3, 31),
          "chart": US01, "source_id": "r"}
    assert revalue(books, closing_rates={}, policy=RevaluationPolicy(enabled=False),
                   **kw) is None  # type: ignore[arg-type]
    missing = revalue(books, closing_rates={}, **kw)  # type: ignore[arg-type]
    assert isinstance(missing, FxError) and missing.problem == "missing_rate"


def test_functional_amounts_balance_even_when_rounding_differs_per_line() -> None:
    made = post_event(REFERENCE_RULES, "time.approved",
                      {"cost": Money.of("0.01", "EUR"), "revenue": Money.of("0.03", "EUR")},
                      chart=US01, entity_id="US01", posting_date=date(2024, 3, 1),
                      source_id="tim_1", params={"service_line": "consulting"},
                      functional_currency="USD", rates={"EUR": rate("1.5", date(2024, 3, 1))})
    assert isinstance(made, JournalEntry)
    assert functional_imbalance(made, "USD") == 0


CHARGE = IntercompanyCharge("icc_1", provider_entity="UK01", recipient_entity="US01",
                            project_id="prj_9", worker_id="wkr_3", hours=Decimal("7.5"),
                            transfer_rate=Money.of("95.333", "GBP"),
                            posting_date=date(2024, 3, 31))


def test_intercompany_charge_is_balanced_in_both_entities() -> None:
    made = intercompany_entries(CHARGE, {"UK01": UK01, "US01": US01},
                                functional_currencies={"UK01": "GBP", "US01": "USD"},
                                rates={"US01": {"GBP": rate("1.27", date(2024, 3, 31),
                                                            "GBP", "USD")}})
    assert not isinstance(made, IntercompanyError)
    provider, recipient = made
    assert [(ln.account, ln.side.value, str(ln.amount)) for ln in provider.lines] == [
        ("1300", "debit", "715.00 GBP"), ("4950", "credit", "715.00 GBP")]
    assert [(ln.account, ln.side.value, str(ln.amount)) for ln in recipient.lines] == [
        ("5100", "debit", "715.00 GBP"), ("2400", "credit", "715.00 GBP")]
    assert recipient.lines[0].functional == Money.of("908.05", "USD")
    for entry in made:
        assert trial_balance_of([entry]).balanced
    assert intercompany_mismatches(made, {"UK01": UK01, "US01": US01}) == ()
    assert len(intercompany_mismatches([provider], {"UK01": UK01, "US01": US01})) == 1


def test_intercompany_refuses_bad_charges() -> None:
    from dataclasses import replace

    same = intercompany_entries(replace(CHARGE, recipient_entity="UK01"), {"UK01": UK01})
    assert isinstance(same, IntercompanyError) and same.problem == "same_entity"
    no_chart = intercompany_entries(CHARGE, {"UK01": UK01})
    assert isinstance(no_chart, IntercompanyError) and no_chart.problem == "no_chart"


def test_each_entity_entry_has_its_own_journal_source_and_names_the_charge() -> None:
    made = intercompany_entries(CHARGE, {"UK01": UK01, "US01": US01})
    assert not isinstance(made, IntercompanyError)
    assert [e.source_id for e in made] == ["icc_1:UK01", "icc_1:US01"]
    assert all(("intercompany_charge", "icc_1") in e.metadata for e in made)


def test_revaluation_limited_to_some_currencies_and_release_of_a_settled_balance() -> None:
    from syncline.ledger.journal import JournalLine, Side

    books = [ar_invoice("inv_1", "1000", "1.10", date(2024, 3, 5))]
    kw = {"entity_id": "US01", "functional_currency": "USD", "chart": US01}
    march = revalue(books, closing_rates={}, as_of=date(2024, 3, 31), source_id="r1",
                    currencies=[], **kw)  # type: ignore[arg-type]
    assert march is None  # EUR waits for its rate, nothing else to do
    march = revalue(books, closing_rates={"EUR": rate("1.12", date(2024, 3, 31))},
                    as_of=date(2024, 3, 31), source_id="r1", **kw)  # type: ignore[arg-type]
    assert isinstance(march, JournalEntry)  # +20.00 USD: carried at 1,120.00
    paid = JournalEntry("US01", date(2024, 4, 10), "payment", (
        JournalLine("1000", Side.DEBIT, Money.of("1000", "EUR"),
                    functional=Money.of("1150", "USD")),
        JournalLine("1100", Side.CREDIT, Money.of("1000", "EUR"),
                    functional=Money.of("1150", "USD"))), "payment", "pay_1")
    # settled in EUR: no rate needed; the 30.00 USD left on AR is released to gain/loss
    april = revalue([*books, march, paid], closing_rates={}, as_of=date(2024, 4, 30),
                    source_id="r2", **kw)  # type: ignore[arg-type]
    assert isinstance(april, JournalEntry)
    assert [(ln.account, ln.side.value, str(ln.amount)) for ln in april.lines] == [
        ("1100", "debit", "30.00 USD"), ("7900", "credit", "30.00 USD")]
    assert april.lines[0].fx_rate is None
