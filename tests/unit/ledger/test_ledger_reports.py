"""Reports derived from entries, as tables (DESIGN.md §8)."""

from datetime import date
from decimal import Decimal

from syncline.ledger.accounts import DEFAULT_CHART, for_entity
from syncline.ledger.journal import JournalEntry, reverse
from syncline.ledger.money import Money
from syncline.ledger.posting import REFERENCE_RULES, SYSTEM_RULES, PostingRules, post_event
from syncline.ledger.reports import (
    deferred_revenue_rollforward,
    margin,
    revenue_waterfall,
    trial_balance_table,
    unbilled_aging,
)

US01 = for_entity(DEFAULT_CHART, "US01")
CHARTS = {"US01": US01}
RULES = PostingRules(SYSTEM_RULES.rules + REFERENCE_RULES.rules)  # system + worked examples
D = Decimal


def ev(event: str, day: date, source: str, project: str = "prj_1",
       service_line: str = "consulting", **amounts: str) -> JournalEntry:
    made = post_event(RULES, event,
                      {k: Money.of(v, "USD") for k, v in amounts.items()},
                      chart=US01, entity_id="US01", posting_date=day, source_id=source,
                      params={"service_line": service_line, "contract": "C-1",
                              "as_of": day.isoformat(), "period": f"{day:%Y-%m}"},
                      dimensions=(("project", project), ("service_line", service_line)))
    assert isinstance(made, JournalEntry), made
    return made


BOOKS = [
    ev("time.approved", date(2024, 1, 10), "tim_1", cost="400", revenue="1000"),
    ev("time.approved", date(2024, 2, 20), "tim_2", cost="300", revenue="600"),
    ev("time.approved", date(2024, 3, 25), "tim_3", project="prj_2",
       service_line="implementation", cost="100", revenue="200"),
    ev("invoice.released", date(2024, 1, 31), "inv_0", total="1200", unbilled="0",
       deferred="1200", tax="0"),
    ev("revenue.true_up", date(2024, 2, 29), "rec_1", unbilled="0", liability="400",
       revenue="400"),
    ev("revenue.true_up", date(2024, 3, 31), "rec_2", unbilled="0", liability="400",
       revenue="400"),
    ev("invoice.released", date(2024, 3, 31), "inv_1", total="1200", unbilled="1200",
       deferred="0", tax="0"),
]


def test_trial_balance_table_rows_are_entity_account_currency() -> None:
    table = trial_balance_table(BOOKS, CHARTS)
    assert table.columns == ("entity", "account", "name", "currency", "debit", "credit",
                             "balance")
    by_account = {r["account"]: r for r in table.as_dicts()}
    assert by_account["1100"]["balance"] == D("2400.00")
    assert by_account["1100"]["name"] == "Accounts receivable"
    assert sum(r[6] for r in table.rows) == 0  # type: ignore[misc]


def test_revenue_waterfall_by_service_line_and_period() -> None:
    table = revenue_waterfall(BOOKS, CHARTS, ["2024-01", "2024-02", "2024-03"])
    assert table.columns == ("entity", "service_line", "currency", "2024-01", "2024-02",
                             "2024-03", "total")
    assert table.rows == (
        ("US01", "consulting", "USD", D("1000.00"), D("1000.00"), D("400.00"), D("2400.00")),
        ("US01", "implementation", "USD", D("0"), D("0"), D("200.00"), D("200.00")),
    )


def test_deferred_revenue_rollforward_links_closing_to_opening() -> None:
    table = deferred_revenue_rollforward(BOOKS, CHARTS, ["2024-02", "2024-03"])
    assert table.rows == (
        ("US01", "USD", "2024-02", D("1200.00"), D("0"), D("400.00"), D("800.00")),
        ("US01", "USD", "2024-03", D("800.00"), D("0"), D("400.00"), D("400.00")),
    )


def test_unbilled_aging_relieves_oldest_first() -> None:
    table = unbilled_aging(BOOKS, CHARTS, date(2024, 3, 31))
    assert table.columns == ("entity", "role", "project", "currency", "0-30", "31-60",
                             "61-90", "90+", "total")
    # prj_1: 1000 (Jan 10, 81 days) + 600 (Feb 20, 40 days) unbilled; the March invoice
    # bills 1200 of it, oldest first: the Jan layer goes, 400 of Feb's stays.
    assert table.rows == (
        ("US01", "unbilled_receivable", "prj_1", "USD", D(0), D("400.00"), D(0), D(0),
         D("400.00")),
        ("US01", "unbilled_receivable", "prj_2", "USD", D("200.00"), D(0), D(0), D(0),
         D("200.00")),
    )


def test_margin_by_project_and_by_service_line() -> None:
    by_project = margin(BOOKS, CHARTS)
    rows = {r["project"]: r for r in by_project.as_dicts()}
    # prj_1 revenue: 1600 from time + 800 recognized (project dimension on those entries too)
    assert (rows["prj_1"]["revenue"], rows["prj_1"]["cost"], rows["prj_1"]["margin"],
            rows["prj_1"]["margin_pct"]) == (D("2400.00"), D("700.00"), D("1700.00"), D("70.8"))
    by_line = {r["service_line"]: r for r in margin(BOOKS, CHARTS, by="service_line").as_dicts()}
    assert by_line["implementation"]["margin"] == D("100.00")


def test_reports_follow_reversals() -> None:
    books = [*BOOKS, reverse(BOOKS[2], "tim_3-rev", date(2024, 3, 26))]
    table = revenue_waterfall(books, CHARTS, ["2024-03"])
    assert [r[:4] for r in table.rows] == [("US01", "consulting", "USD", D("400.00")),
                                           ("US01", "implementation", "USD", D("0.00"))]
