"""Ledger invariants, by property (hypothesis): every posted entry balances; the trial
balance nets to zero per entity and currency; a reversal of a reversal restores balances;
period rules hold; exports balance and round-trip totals."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import beanquery
from beancount import loader
from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.ledger.accounts import DEFAULT_CHART, for_entity
from syncline.ledger.exports import split_entry
from syncline.ledger.exports.beancount import account_names, to_beancount
from syncline.ledger.exports.summary import summary_lines, summary_payloads
from syncline.ledger.fx import FxRate, functional_imbalance
from syncline.ledger.journal import JournalEntry, JournalLine, Side, reverse, trial_balance_of
from syncline.ledger.money import Money, quantum
from syncline.ledger.periods import (
    ClosedPeriodPolicy,
    Period,
    PeriodStatus,
    PostingRefused,
    check_posting,
    period_of,
)
from syncline.ledger.posting import (
    REFERENCE_RULES,
    REVENUE_TRUE_UP,
    SYSTEM_EVENTS,
    SYSTEM_RULES,
    PostingError,
    PostingRule,
    post,
    post_event,
)

ENTITIES = ("US01", "UK01")
CHARTS = {e: for_entity(DEFAULT_CHART, e) for e in ENTITIES}
FUNCTIONAL = {"US01": "USD", "UK01": "GBP"}
CURRENCIES = ("USD", "GBP", "EUR", "JPY", "KWD")
# Codes of accounts that are not receivable lines (QBO needs a customer on those).
CODES = tuple(a.code for a in DEFAULT_CHART.accounts)
DAYS = st.dates(min_value=date(2023, 11, 1), max_value=date(2024, 4, 30))


def money(currency: str, units: int) -> Money:
    return Money(Decimal(units) * quantum(currency), currency)


@st.composite
def entries(draw: st.DrawFn, source_id: str | None = None) -> JournalEntry:
    entity = draw(st.sampled_from(ENTITIES))
    currency = draw(st.sampled_from(CURRENCIES))
    debits = draw(st.lists(st.integers(0, 10**9), min_size=1, max_size=5))
    total = sum(debits)
    weights = draw(st.lists(st.integers(1, 100), min_size=1, max_size=5))
    credits = Money(Decimal(total) * quantum(currency), currency).split(weights)
    accounts = st.sampled_from(CODES)
    dims = (("customer", "cus_1"), ("project", draw(st.sampled_from(["prj_1", "prj_2"]))))
    lines = [JournalLine(draw(accounts), Side.DEBIT, money(currency, u), dimensions=dims)
             for u in debits]
    lines += [JournalLine(draw(accounts), Side.CREDIT, m, dimensions=dims) for m in credits]
    sid = source_id or f"src_{draw(st.integers(0, 10**6))}"
    return JournalEntry(entity, draw(DAYS), f"entry {sid}", tuple(lines), "manual", sid)


@st.composite
def books(draw: st.DrawFn) -> list[JournalEntry]:
    n = draw(st.integers(1, 8))
    return [draw(entries(source_id=f"src_{i}")) for i in range(n)]


RATE = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("500"), places=4)
AMOUNT = st.integers(0, 10**8)


@given(currency=st.sampled_from(CURRENCIES), rate=RATE, unbilled=AMOUNT, deferred=AMOUNT,
       tax=AMOUNT, functional=st.sampled_from(("USD", "GBP", "JPY")))
def test_every_posted_entry_balances_in_transaction_and_functional_currency(
    currency: str, rate: Decimal, unbilled: int, deferred: int, tax: int, functional: str
) -> None:
    parts = {"unbilled": money(currency, unbilled), "deferred": money(currency, deferred),
             "tax": money(currency, tax)}
    amounts = {**parts, "total": money(currency, unbilled + deferred + tax)}
    made = post_event(REFERENCE_RULES, "invoice.released", amounts, chart=CHARTS["US01"],
                      entity_id="US01", posting_date=date(2024, 3, 1), source_id="inv",
                      functional_currency=functional,
                      rates={currency: FxRate(currency, functional, rate, "test",
                                              date(2024, 3, 1))})
    if unbilled + deferred + tax == 0:
        return  # nothing to post: an error value, not an entry
    assert isinstance(made, JournalEntry)
    assert trial_balance_of([made]).balanced
    assert functional_imbalance(made, functional) == 0


SIGNED = st.integers(-10**9, 10**9)


@given(rule=st.sampled_from(SYSTEM_RULES.rules), currency=st.sampled_from(CURRENCIES),
       rate=RATE, functional=st.sampled_from(("USD", "GBP", "JPY")),
       a=AMOUNT, b=AMOUNT, c=AMOUNT, signed_a=SIGNED, signed_b=SIGNED)
def test_any_amounts_through_any_system_rule_give_a_balanced_entry(
    rule: PostingRule, currency: str, rate: Decimal, functional: str, a: int, b: int, c: int,
    signed_a: int, signed_b: int,
) -> None:
    """Amounts as each event gives them (an invoice's total is its parts; the true-up's
    revenue change is the unbilled plus the liability change, any signs) always post a
    balanced entry, per currency and in the functional currency — or, when every amount is
    zero, an error value and no entry."""
    spec = SYSTEM_EVENTS[rule.event]
    if rule.event == REVENUE_TRUE_UP:
        units = {"unbilled": signed_a, "liability": signed_b, "revenue": signed_a + signed_b}
    elif "total" in spec.amounts:
        units = {"revenue": a, "deferred": b, "tax": c, "total": a + b + c}
    else:
        units = {spec.amounts[0]: a}
    made = post(rule, {k: money(currency, v) for k, v in units.items()}, chart=CHARTS["US01"],
                entity_id="US01", posting_date=date(2024, 3, 1), source_id="src",
                params={name: "consulting" for name in spec.params},
                functional_currency=functional,
                rates={currency: FxRate(currency, functional, rate, "test", date(2024, 3, 1))})
    if all(v == 0 for v in units.values()):
        assert isinstance(made, PostingError)
        return
    assert isinstance(made, JournalEntry), made
    assert trial_balance_of([made]).balanced
    assert functional_imbalance(made, functional) == 0


@given(books())
def test_trial_balance_nets_to_zero_per_entity_and_currency(entries: list[JournalEntry]) -> None:
    tb = trial_balance_of(entries)
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in tb.rows:
        net[(r.entity_id, r.currency)] += r.balance
    assert all(v == 0 for v in net.values())
    assert tb.balanced


@given(books(), st.data())
def test_reversal_of_a_reversal_restores_balances(entries: list[JournalEntry],
                                                  data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(entries))
    rev = reverse(target, "r1", target.posting_date)
    rev_rev = reverse(rev, "r2", target.posting_date)

    def balances(es: list[JournalEntry]) -> dict[tuple[str, str, str], Decimal]:
        return {(r.entity_id, r.account, r.currency): r.balance
                for r in trial_balance_of(es).rows if r.balance != 0}

    without = [e for e in entries if e is not target]
    assert balances([*entries, rev]) == balances(without)
    assert balances([*entries, rev, rev_rev]) == balances(entries)
    assert [(ln.account, ln.side, ln.amount) for ln in rev_rev.lines] == [
        (ln.account, ln.side, ln.amount) for ln in target.lines]


MONTHS = ("2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04")


@given(entries(), st.lists(st.sampled_from(list(PeriodStatus)), min_size=6, max_size=6),
       st.sampled_from(list(ClosedPeriodPolicy)))
def test_period_rules(entry: JournalEntry, statuses: list[PeriodStatus],
                      policy: ClosedPeriodPolicy) -> None:
    periods = [Period(entry.entity_id, m, s) for m, s in zip(MONTHS, statuses, strict=True)]
    status = dict(zip(MONTHS, statuses, strict=True))
    own = period_of(entry.posting_date)
    result = check_posting(entry, periods, policy)
    if status[own] is PeriodStatus.OPEN:
        assert result is entry
    elif policy is ClosedPeriodPolicy.REFUSE:
        assert isinstance(result, PostingRefused) and result.domain == "finance"
    else:
        later_open = [m for m in MONTHS if m > own and status[m] is PeriodStatus.OPEN]
        if not later_open:
            assert isinstance(result, PostingRefused) and result.reason == "no_open_period"
        else:
            assert isinstance(result, JournalEntry)
            assert period_of(result.posting_date) == later_open[0]
            assert result.posting_date.day == 1
            assert dict(result.metadata)["moved_from_period"] == own
            assert result.lines == entry.lines
    # whatever happened, nothing lands in a period that is not open
    if isinstance(result, JournalEntry):
        assert status[period_of(result.posting_date)] is PeriodStatus.OPEN


@given(entries(), st.integers(2, 6))
def test_split_groups_balance_fit_and_keep_totals(entry: JournalEntry, max_lines: int) -> None:
    groups = split_entry(entry.lines, max_lines)
    per_account: dict[str, Decimal] = defaultdict(Decimal)
    for g in groups:
        assert 2 <= len(g) <= max_lines
        assert sum(ln.signed for ln in g) == 0
        for ln in g:
            per_account[ln.account] += ln.signed
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for ln in entry.lines:
        expected[ln.account] += ln.signed
    assert {k: v for k, v in per_account.items() if v} == {k: v for k, v in expected.items() if v}


def _tb(entries: list[JournalEntry]) -> dict[tuple[str, str, str], Decimal]:
    return {(r.entity_id, r.account, r.currency): r.balance
            for r in trial_balance_of(entries).rows if r.balance != 0}


@given(books())
def test_erp_summaries_balance_and_keep_every_account_total(
    entries: list[JournalEntry],
) -> None:
    """The period summary every ERP export and target posts (ledger/exports/summary.py):
    one journal per entity and currency that balances, whose signed total per account equals
    the trial balance of the entries it carries (document entries are never carried)."""
    carried = [e for e in entries if e.source_type not in ("invoice", "credit_note")]
    totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for entity in ENTITIES:
        mine = [e for e in entries if e.entity_id == entity]
        for p in summary_payloads(summary_lines(mine), name=f"summary:{entity}:2024-03",
                                  entity=entity, period="2024-03"):
            signed = [Decimal(ln[2]) * (1 if ln[1] == "debit" else -1) for ln in p["lines"]]
            assert sum(signed) == 0 and len({ln[3] for ln in p["lines"]}) == 1
            assert p["source"].endswith(":" + p["lines"][0][3])
            for ln, amount in zip(p["lines"], signed, strict=True):
                totals[(entity, ln[0], ln[3])] += amount
    assert {k: v for k, v in totals.items() if v} == _tb(carried)


@given(books(), RATE)
def test_erp_summaries_carry_a_rate_only_when_foreign(entries: list[JournalEntry],
                                                      rate: Decimal) -> None:
    """A summary in the entity's functional currency carries no rate; a foreign one carries
    the rate its lines' functional amounts imply, and those amounts balance."""
    from syncline.ledger.fx import with_functional

    for e in entries:
        base = FUNCTIONAL[e.entity_id]
        rates = {c: FxRate(c, base, rate, "test", e.posting_date) for c in CURRENCIES}
        made = with_functional(e, base, rates)
        assert isinstance(made, JournalEntry)
        for p in summary_payloads(summary_lines([made]), name="s", entity=e.entity_id,
                                  period="2024-03"):
            foreign = p["lines"][0][3] != base
            assert (p["fx"] is not None) == (foreign and any(
                Decimal(ln[2]) for ln in p["lines"] if ln[1] == "debit"))
            if foreign:
                assert sum(Decimal(ln[4]) * (1 if ln[1] == "debit" else -1)
                           for ln in p["lines"]) == 0


@settings(max_examples=25, deadline=None)
@given(books())
def test_beancount_export_is_accepted_and_its_trial_balance_equals_ours(
    entries: list[JournalEntry],
) -> None:
    entries = [*entries, reverse(entries[0], "rev_0", entries[0].posting_date + timedelta(1))]
    exported = to_beancount(entries, CHARTS)
    assert exported.ok
    bentries, errors, options = loader.load_string(exported.content)
    assert errors == []
    conn = beanquery.connect("beancount:", entries=bentries, errors=errors, options=options)
    rows = conn.execute("SELECT account, currency, sum(number) GROUP BY account, currency")
    theirs = {(a, c): n for a, c, n in rows.fetchall() if n != 0}
    names = account_names(CHARTS)
    assert isinstance(names, dict)
    ours = {(names[(e, a)], c): v for (e, a, c), v in _tb(entries).items()}
    assert theirs == ours


def _functional_balance(lines: list[tuple[str, Side, str]], rate: str
                        ) -> list[dict[str, Any]]:
    from syncline.ledger.fx import with_functional

    entry = JournalEntry("US01", date(2024, 3, 5), "jpy", tuple(
        JournalLine(account, side, Money(Decimal(amount), "JPY")) for account, side, amount
        in lines), source_type="manual", source_id="m1")
    made = with_functional(entry, "USD", {"JPY": FxRate("JPY", "USD", Decimal(rate), "test",
                                                         date(2024, 3, 5))})
    assert isinstance(made, JournalEntry)
    return summary_payloads(summary_lines([made]), name="s", entity="US01", period="2024-03")


def test_a_summary_line_whose_rounding_nets_the_other_way_keeps_its_sign() -> None:
    """The example Hypothesis found (CI, 2026-11-30): at 0.0001 USD a yen, 1100's debits
    (112 JPY → 0.01) and credits (50 + 50 → 0.01 + 0.01) net to a debit of 12 JPY but a
    credit of 0.01 USD. Stated as its absolute value (0.01) the summary's functional amounts
    were 0.02 out; stated on the line's side it is -0.01 and they balance."""
    (p,) = _functional_balance([("1150", Side.DEBIT, "38"), ("1100", Side.DEBIT, "112"),
                                ("1150", Side.CREDIT, "25"), ("1100", Side.CREDIT, "50"),
                                ("1100", Side.CREDIT, "50"), ("1200", Side.CREDIT, "25")],
                               "0.0001")
    assert [ln[:5] for ln in p["lines"]] == [
        ["1100", "debit", "12", "JPY", "-0.01"], ["1150", "debit", "13", "JPY", "0.01"],
        ["1200", "credit", "25", "JPY", "0.00"]]


def test_a_rounding_residue_on_an_account_that_nets_to_zero_is_kept() -> None:
    """1100 and 1200 each net to 0 JPY (150 debited, 150 credited), but the entry's debits
    (300 JPY → 0.03 USD) and credits (0.03) are shared to their lines cent by cent, leaving
    0.01 USD debited on 1100 and credited on 1200: those residues stay, as lines of amount
    0, or the summary's functional amounts would not balance."""
    (p,) = _functional_balance([("1100", Side.DEBIT, "150"), ("1200", Side.CREDIT, "150"),
                                ("1100", Side.CREDIT, "50"), ("1100", Side.CREDIT, "100"),
                                ("1200", Side.DEBIT, "150")], "0.0001")
    signed = [Decimal(ln[4]) * (1 if ln[1] == "debit" else -1) for ln in p["lines"]]
    assert sum(signed) == 0
    assert [ln[:5] for ln in p["lines"]] == [["1100", "debit", "0", "JPY", "0.01"],
                                            ["1200", "credit", "0", "JPY", "0.01"]]
