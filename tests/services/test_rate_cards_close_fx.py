"""Issue 4's billing inputs wired end to end on a real SQLite file: published rate cards price
approved time (contract > customer > default > reference defaults, effective on the work date,
with the card's billing increment), a closed project refuses later time, and treasury's FX
rates convert a foreign-currency expense on an invoice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.billing_tables import fx_rates, rate_card_entries, rate_cards
from syncline.adapters.db.tables import billable_items, inbox, projects, time_entries
from syncline.bootstrap import Syncline
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.state import fingerprint
from tests.builders import deal, event, time_entry, worker
from tests.services.test_billing_wiring import expense, ingest, lines_of, run

D = Decimal


def rate_card(card_id: str, version: int, rates: dict[str, str], *, scope: str = "default",
              key: str | None = None, currency: str = "USD", start: str = "2026-01-01",
              end: str | None = None, increment: str | None = None, rounding: str = "up",
              id_: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "card_id": card_id, "version": version, "scope": scope, "currency": currency,
        "effective_from": start, "entries": [{"role": r, "rate": v} for r, v in rates.items()]}
    if key:
        data["scope_key"] = key
    if end:
        data["effective_to"] = end
    if increment:
        data["billing_increment_hours"] = increment
        data["rounding"] = rounding
    return event("rate_card.published", f"rate_card/{card_id}", data, source="psa/kantata",
                 sequence=version, time="2025-12-20T09:00:00Z", id_=id_)


def project_closed(code: str = "P-1", on: str = "2026-01-15", *,
                   id_: str | None = None) -> dict[str, Any]:
    return event("project.closed", f"project/{code}", {
        "project_code": code, "closed_on": on, "reason": "contract ended"},
        source="psa/kantata", time=f"{on}T20:00:00Z", id_=id_)


def fx_published(base: str, rates: dict[str, str], *, as_of: str = "2026-01-07",
                 source: str = "ECB reference") -> dict[str, Any]:
    return event("fx.rates_published", f"fx/{base}/{as_of}", {
        "as_of": as_of, "source": source, "base": base, "rates": rates},
        source="erp/netsuite", time=f"{as_of}T17:00:00Z")


def items(system: Syncline) -> dict[str, tuple[Decimal, Decimal, Decimal, str, str]]:
    """key → (billed quantity, unit price, amount, rate scope, rate card)."""
    with system.engine.connect() as conn:
        return {r.key: (r.quantity, r.unit_price, r.amount, r.rate_scope, r.rate_card or "")
                for r in conn.execute(select(billable_items))}


def codes(system: Syncline) -> list[str]:
    with system.engine.connect() as conn:
        return sorted(e.code for e in list_exceptions(conn))


TEAM = (worker("W-1", role="consultant"), worker("W-2", role="manager"),
        worker("W-3", role="analyst"), worker("W-4", role="partner"))


# --- rate cards ------------------------------------------------------------------------------

def test_precedence_contract_then_customer_then_default_card_then_reference(
        system: Syncline) -> None:
    ingest(system, deal(rates=[{"role": "consultant", "rate": "200.00"}]), *TEAM,
           rate_card("STD-USD", 1, {"consultant": "150", "manager": "260", "analyst": "120"},
                     increment="0.25"),
           rate_card("ACME", 1, {"manager": "240"}, scope="customer", key="ACC-D-1",
                     increment="0.5"),
           time_entry("T-1", worker_id="W-1", hours="7.1"),
           time_entry("T-2", worker_id="W-2", hours="7.1", role="manager"),
           time_entry("T-3", worker_id="W-3", hours="7.1", role="analyst"),
           time_entry("T-4", worker_id="W-4", hours="7.1", role="partner"))
    assert codes(system) == []
    assert items(system) == {
        # the deal's own rates: no increment, hours as worked
        "time:T-1": (D("7.1"), D("200.00"), D("1420.00"), "contract", "contract:C-1 v1"),
        # the customer's card, its half-hour increment rounding up
        "time:T-2": (D("7.5"), D("240"), D("1800.00"), "customer", "ACME v1"),
        # the default card, quarter hours rounding up
        "time:T-3": (D("7.25"), D("120"), D("870.00"), "default", "STD-USD v1"),
        # no published card has partners: the reference role default
        "time:T-4": (D("7.1"), D("350"), D("2485.00"), "default", "reference:USD v1"),
    }
    with system.engine.connect() as conn:  # worked hours stay on the time entry
        worked = {r.time_entry_id: r.hours for r in conn.execute(select(time_entries))}
    assert worked == {"T-1": D("7.1"), "T-2": D("7.1"), "T-3": D("7.1"), "T-4": D("7.1")}
    run(system, "2026-01")
    assert ("Manager time", D("7.5"), D("1800.00")) in lines_of(system, "US01-2026-000001")


def test_a_contract_card_beats_the_deal_rates_from_its_effective_date(system: Syncline) -> None:
    ingest(system, deal(), worker(),
           rate_card("C-1-RATES", 1, {"consultant": "210"}, scope="contract", key="C-1",
                     start="2026-02-01"),
           time_entry("T-JAN", day="2026-01-30"), time_entry("T-FEB", day="2026-02-02"))
    got = items(system)
    assert got["time:T-JAN"][1:] == (D("200.00"), D("1600.00"), "contract", "contract:C-1 v1")
    assert got["time:T-FEB"][1:] == (D("210"), D("1680.00"), "contract", "C-1-RATES v1")


def test_a_new_version_supersedes_from_its_effective_date_in_any_arrival_order(
        system: Syncline) -> None:
    v1 = rate_card("STD-USD", 1, {"analyst": "120", "manager": "250"})
    v2 = rate_card("STD-USD", 2, {"analyst": "130"}, start="2026-03-01")
    ingest(system, deal(rates=[]), worker("W-3", role="analyst"), v2, v1,  # newer one first
           worker("W-2", role="manager"),
           time_entry("T-FEB", worker_id="W-3", role="analyst", day="2026-02-27"),
           time_entry("T-MAR", worker_id="W-3", role="analyst", day="2026-03-02"),
           time_entry("T-MGR", worker_id="W-2", role="manager", day="2026-03-02"))
    got = items(system)
    assert got["time:T-FEB"][1:] == (D("120"), D("960.00"), "default", "STD-USD v1")
    assert got["time:T-MAR"][1:] == (D("130"), D("1040.00"), "default", "STD-USD v2")
    # v2 has no manager: v1 is superseded all the same, the reference default answers
    assert got["time:T-MGR"][1:] == (D("250"), D("2000.00"), "default", "reference:USD v1")
    with system.engine.connect() as conn:
        assert len(conn.execute(select(rate_cards)).all()) == 2  # every version kept
        assert len(conn.execute(select(rate_card_entries)).all()) == 3


def test_republishing_a_version_is_idempotent_and_changing_it_is_refused(
        system: Syncline) -> None:
    ingest(system, rate_card("STD-USD", 1, {"analyst": "120"}),
           rate_card("STD-USD", 1, {"analyst": "120.00"}))  # another delivery, same content
    assert codes(system) == []
    ingest(system, rate_card("STD-USD", 1, {"analyst": "125"}))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
        (entry,) = conn.execute(select(rate_card_entries)).all()
    assert (exc.code, exc.domain) == ("rate_card.version_conflict", "billing")
    assert "new version" in exc.remediation and entry.rate == D("120")


def test_a_card_arriving_after_the_time_reprices_open_items_not_invoiced_ones(
        system: Syncline) -> None:
    ingest(system, deal(rates=[]), worker("W-3", role="analyst"),
           time_entry("T-JAN", worker_id="W-3", role="analyst", day="2026-01-12"))
    run(system, "2026-01")  # invoiced at the reference default 110
    ingest(system, time_entry("T-FEB", worker_id="W-3", role="analyst", day="2026-02-02",
                              hours="7.6"))
    assert items(system)["time:T-FEB"][1:] == (D("110"), D("836.00"), "default",
                                               "reference:USD v1")
    ingest(system, rate_card("STD-USD", 1, {"analyst": "120"}, increment="0.5"))
    got = items(system)
    assert got["time:T-JAN"] == (D("8"), D("110"), D("880.00"), "default", "reference:USD v1")
    assert got["time:T-FEB"] == (D("8.0"), D("120"), D("960.00"), "default", "STD-USD v1")


def test_a_missing_rate_waits_and_the_card_prices_it_when_published(
        system: Syncline) -> None:
    """No architect rate anywhere: the time waits (rate_card:C-1), no exception; the card's
    publication releases it (tests/services/test_billing_waiting.py has the rest)."""
    ingest(system, deal(rates=[]), worker("W-9", role="architect"),
           time_entry("T-1", worker_id="W-9", role="architect"))
    assert codes(system) == [] and items(system) == {}
    ingest(system, rate_card("STD-USD", 1, {"architect": "275"}))
    assert codes(system) == []
    assert items(system)["time:T-1"][1:] == (D("275"), D("2200.00"), "default", "STD-USD v1")


def test_a_card_in_another_currency_or_for_another_customer_does_not_apply(
        system: Syncline) -> None:
    ingest(system, deal(rates=[]), worker("W-3", role="analyst"),
           rate_card("STD-GBP", 1, {"analyst": "90"}, currency="GBP"),
           rate_card("OTHER", 1, {"analyst": "80"}, scope="customer", key="ACC-OTHER"),
           time_entry("T-1", worker_id="W-3", role="analyst"))
    assert items(system)["time:T-1"][1:] == (D("110"), D("880.00"), "default",
                                             "reference:USD v1")


def test_an_invalid_card_is_a_billing_exception(system: Syncline) -> None:
    ingest(system, rate_card("ACME", 1, {"analyst": "0"}, scope="customer", key="ACC-1"),
           rate_card("NOKEY", 1, {"analyst": "100"}, scope="customer"))
    with system.engine.connect() as conn:
        excs = list_exceptions(conn)
    assert [(e.code, e.domain) for e in excs] == [("rate_card.invalid", "billing")] * 2
    assert all(e.remediation for e in excs)


# --- project close ---------------------------------------------------------------------------

def test_time_after_the_close_is_an_exception_and_the_rest_is_billed(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-1", day="2026-01-05"), project_closed(),
           time_entry("T-LATE", day="2026-01-20"),  # after the close: refused
           time_entry("T-CLOSE", day="2026-01-15"),  # on the close date, arriving after it
           time_entry("T-2", day="2026-01-14"))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
        closed = conn.execute(select(projects.c.closed_on, projects.c.close_reason)).one()
    assert (exc.code, exc.domain) == ("billing.project_closed", "billing")
    assert exc.remediation.startswith("Reopen the project in the PSA or move the time")
    assert "replay" in exc.remediation
    assert tuple(closed) == ("2026-01-15", "contract ended")
    assert sorted(items(system)) == ["time:T-1", "time:T-2", "time:T-CLOSE"]
    run(system, "2026-01")
    assert lines_of(system, "US01-2026-000001") == [("Consultant time", D("24"), D("4800.00"))]


def _closed_story(system: Syncline, order: list[int]) -> tuple[str, list[str], list[str]]:
    events = [deal(), worker(), time_entry("T-1", day="2026-01-05"),
              time_entry("T-LATE", day="2026-01-20"), project_closed(id_="close-1"),
              project_closed(on="2026-01-10", id_="close-0")]  # an earlier close, arriving late
    ingest(system, *[events[i] for i in order])
    run(system, "2026-01")
    with system.engine.connect() as conn:
        statuses = sorted(r.status for r in conn.execute(select(inbox.c.status)))
        return fingerprint(conn), codes(system), statuses


def test_the_close_gives_the_same_result_whether_late_time_comes_before_or_after_it(
        system: Syncline, tmp_path: Any) -> None:
    from syncline.bootstrap import bootstrap
    from syncline.config import Settings
    from tests.conftest import fixed_clock

    before = _closed_story(system, [0, 1, 2, 3, 4, 5])  # time applied, then withdrawn
    other = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'other.db'}"),
                      clock=fixed_clock, durable=False)
    after = _closed_story(other, [4, 5, 2, 3, 1, 0])  # close parked until the deal arrives
    assert before == after
    assert before[1] == ["billing.project_closed"]
    with other.engine.connect() as conn:
        assert conn.execute(select(projects.c.closed_on)).scalar() == "2026-01-15"
        assert [r.time_entry_id for r in conn.execute(select(time_entries))] == ["T-1"]


def test_time_invoiced_before_a_late_close_is_credited_not_erased(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-LATE", day="2026-01-20"))
    run(system, "2026-01")
    ingest(system, project_closed())
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
        item = conn.execute(select(billable_items)).one()
        entry = conn.execute(select(time_entries)).one()
    assert exc.code == "billing.project_closed"
    assert item.status == "invoiced" and entry.status == "reversed"
    feb = run(system, "2026-02")
    assert feb.credit_notes  # the credit note reverses the invoiced item


# --- FX rates --------------------------------------------------------------------------------

def test_fx_rates_published_then_a_foreign_currency_expense_on_the_invoice(
        system: Syncline) -> None:
    ingest(system, deal(), worker(), fx_published("USD", {"EUR": "0.9200", "GBP": "0.7900"}),
           fx_published("USD", {"EUR": "0.9200", "GBP": "0.7900"}),  # published again
           expense("EX-1", "100.00", "EUR"))
    assert codes(system) == []
    with system.engine.connect() as conn:
        stored = {(r.base, r.quote): (r.rate, r.source) for r in conn.execute(select(fx_rates))}
    assert stored == {("USD", "EUR"): (D("0.9200"), "ECB reference"),
                      ("USD", "GBP"): (D("0.7900"), "ECB reference")}
    run(system, "2026-01")
    (line,) = lines_of(system, "US01-2026-000001")
    assert line[2] == D("108.70")  # 100 EUR at 1 / 0.92 (the inverse of the published rate)
    assert "100.00 EUR" in line[0] and "1.0869565217" in line[0]


def test_fx_rates_arriving_after_the_expense_price_it_on_their_own(system: Syncline) -> None:
    ingest(system, deal(), worker(), expense("EX-1", "100.00", "GBP"))
    assert codes(system) == []  # waiting for the rate, not failed
    ingest(system, fx_published("GBP", {"USD": "1.2650"}, as_of="2026-01-02"))
    assert codes(system) == []
    with system.engine.connect() as conn:
        item = conn.execute(select(billable_items)).one()
    assert (item.amount, item.fx_rate, item.fx_source) == (D("126.50"), D("1.2650"),
                                                           "ECB reference")


def test_a_bad_fx_rate_is_a_finance_exception_and_nothing_is_stored(system: Syncline) -> None:
    ingest(system, fx_published("USD", {"EUR": "0", "GBP": "0.79"}),
           fx_published("USD", {"ZZZ": "1.5"}, as_of="2026-01-08"),
           fx_published("USD", {"EUR": "-0.92"}, as_of="2026-01-09"))
    with system.engine.connect() as conn:
        excs = list_exceptions(conn)
        assert conn.execute(select(fx_rates)).all() == []
    assert [(e.code, e.domain) for e in excs] == [("fx.rate_invalid", "finance")] * 3
    assert all("Treasury" in e.remediation for e in excs)


def test_a_different_rate_for_a_stored_day_is_refused(system: Syncline) -> None:
    ingest(system, fx_published("USD", {"EUR": "0.92"}),
           fx_published("USD", {"EUR": "0.93"}, source="other feed"))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
        (row,) = conn.execute(select(fx_rates)).all()
    assert (exc.code, exc.domain, row.rate) == ("fx.rate_conflict", "finance", D("0.92"))


def test_the_close_reconciles_worked_hours_to_billed_hours_through_the_card_increment(
        system: Syncline) -> None:
    """7.3 h worked, billed 7.5 h by a half-hour card rounding up: the reconciliation expects
    7.5 (no difference); billing 7.3 would have been one."""
    from syncline.services.ledger.reconciliation import close_reconciliation

    ingest(system, rate_card("STD-USD", 1, {"analyst": "100"}, increment="0.5"),
           deal(rates=[]), worker(role="analyst"),
           time_entry("T-1", hours="7.3", role="analyst"))
    with system.engine.connect() as conn:
        report = close_reconciliation(conn, "2026-01")
    (row,) = [c for c in report.tables[0].as_dicts()
              if c["check"] == "approved billable = billable hours"]
    assert (row["expected"], row["actual"], row["status"]) == (D("7.5"), D("7.5"), "ok")
