"""The Beancount export is accepted by the real beancount loader (what ``bean-check`` runs)
and its ``bean-query`` trial balance equals Syncline's."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import beanquery
from beancount import loader

from syncline.ledger.accounts import DEFAULT_CHART, ChartOfAccounts, chart_from_template, for_entity
from syncline.ledger.exports.beancount import account_names, component, to_beancount
from syncline.ledger.fx import FxRate
from syncline.ledger.journal import JournalEntry, Side, line, reverse, trial_balance_of
from syncline.ledger.money import Money
from syncline.ledger.posting import REFERENCE_RULES, post_event

US01 = for_entity(DEFAULT_CHART, "US01")
_uk = chart_from_template("ent_01hx uk", overrides={"tax_payable": {"name": "VAT payable"}})
assert isinstance(_uk, ChartOfAccounts)
UK = _uk
CHARTS = {"US01": US01, "ent_01hx uk": UK}
EUR_USD = FxRate("EUR", "USD", Decimal("1.0837"), "ECB", date(2024, 3, 1))


def books() -> list[JournalEntry]:
    made = [
        post_event(REFERENCE_RULES, "time.approved", {"cost": Money.of("812.50", "USD"),
                                                    "revenue": Money.of("1500", "USD")},
                   chart=US01, entity_id="US01", posting_date=date(2024, 3, 4),
                   source_id="tim_01", params={"service_line": "consulting"},
                   dimensions=(("project", "prj_1"),)),
        post_event(REFERENCE_RULES, "invoice.released",
                   {"total": Money.of("1210", "EUR"), "unbilled": Money.of("1000", "EUR"),
                    "deferred": Money.of("0", "EUR"), "tax": Money.of("210", "EUR")},
                   chart=US01, entity_id="US01", posting_date=date(2024, 3, 31),
                   source_id='inv_"quoted" \\ 1', functional_currency="USD",
                   rates={"EUR": EUR_USD}),
        post_event(REFERENCE_RULES, "payment.received", {"amount": Money.of("99.99", "GBP")},
                   chart=UK, entity_id="ent_01hx uk", posting_date=date(2024, 2, 1),
                   source_id="pay_1"),
    ]
    entries = [e for e in made if isinstance(e, JournalEntry)]
    assert len(entries) == len(made)
    entries.append(reverse(entries[0], "tim_01-rev", date(2024, 3, 20)))
    return entries


def load(text: str):  # type: ignore[no-untyped-def]
    entries, errors, options = loader.load_string(text)
    assert errors == [], errors
    return entries, errors, options


def test_export_is_accepted_by_beancount() -> None:
    exported = to_beancount(books(), CHARTS, operating_currencies=["USD"])
    assert exported.ok
    entries, _, _ = load(exported.content)
    txns = [e for e in entries if type(e).__name__ == "Transaction"]
    assert len(txns) == 4


def test_bean_query_trial_balance_equals_syncline() -> None:
    entries = books()
    exported = to_beancount(entries, CHARTS)
    names = account_names(CHARTS)
    assert isinstance(names, dict)
    bentries, errors, options = load(exported.content)
    conn = beanquery.connect("beancount:", entries=bentries, errors=errors, options=options)
    rows = conn.execute(
        "SELECT account, currency, sum(number) AS total GROUP BY account, currency"
    ).fetchall()
    theirs = {(acct, cur): total for acct, cur, total in rows if total != 0}
    ours = {(names[(r.entity_id, r.account)], r.currency): r.balance
            for r in trial_balance_of(entries).rows if r.balance != 0}
    assert theirs == ours
    # and the suggested query by position, per account
    by_position = dict(conn.execute("SELECT account, sum(position) GROUP BY account").fetchall())
    per_account: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for (acct, cur), bal in ours.items():
        per_account[acct][cur] = bal
    for acct, inv in by_position.items():
        assert {p.units.currency: p.units.number for p in inv} == per_account.get(acct, {})


def test_transactions_link_back_to_syncline_sources() -> None:
    exported = to_beancount(books(), CHARTS)
    bentries, _, _ = load(exported.content)
    txns = {e.meta["source_id"]: e for e in bentries if type(e).__name__ == "Transaction"}
    rev = txns["tim_01-rev"]
    assert rev.meta["reverses"] == "tim_01" and rev.meta["source_type"] == "time.approved"
    assert rev.links == frozenset({"tim_01-rev", "tim_01"})
    inv = txns['inv_"quoted" \\ 1']
    assert inv.meta["entity"] == "US01"
    ar = next(p for p in inv.postings if p.account == "Assets:US01:AccountsReceivable")
    assert str(ar.meta["functional"]) == "1311.28 USD"
    assert ar.meta["fx_source"] == "ECB" and ar.meta["fx_rate"] == Decimal("1.0837")
    tim = txns["tim_01"]
    assert all(p.meta["dim_project"] == "prj_1" for p in tim.postings)


def test_account_names_are_valid_and_unique_per_entity() -> None:
    names = account_names(CHARTS)
    assert isinstance(names, dict)
    assert names[("US01", "1100")] == "Assets:US01:AccountsReceivable"
    assert names[("ent_01hx uk", "2200")] == "Liabilities:Ent-01hx-uk:VATPayable"
    assert names[("US01", "4000")] == "Income:US01:RevenueConsulting"
    assert component("Revenue – études") == "RevenueEtudes"
    clash = chart_from_template("X", overrides={"wip": {"name": "Accounts receivable"}})
    assert isinstance(clash, ChartOfAccounts)
    clashing = account_names({"X": clash})
    assert isinstance(clashing, dict)
    assert clashing[("X", "1100")] == "Assets:X:AccountsReceivable-1100"
    assert clashing[("X", "1200")] == "Assets:X:AccountsReceivable-1200"
    load(to_beancount([], {"X": clash}).content)


def test_entries_outside_the_charts_are_reported_not_exported() -> None:
    amount = Money.of("5", "USD")
    stray = JournalEntry("US01", date(2024, 1, 1), "stray",
                         (line("9999", Side.DEBIT, amount), line("1100", Side.CREDIT, amount)),
                         "manual", "man_1")
    orphan = JournalEntry("ZZ", date(2024, 1, 1), "orphan",
                          (line("1100", Side.DEBIT, amount), line("1000", Side.CREDIT, amount)),
                          "manual", "man_2")
    exported = to_beancount([stray, orphan, *books()], CHARTS)
    assert {(e.source_id, e.problem) for e in exported.errors} == {("man_1", "unknown_account"),
                                                                   ("man_2", "no_chart")}
    load(exported.content)
