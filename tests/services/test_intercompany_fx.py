"""Intercompany charges and FX revaluation at close, on a real SQLite file.

A GB01 consultant on a US01 project is charged GB01 -> US01 at cost plus 10 %, balanced in
both entities; a missing FX rate is one finance exception; open EUR receivables of US01 are
revalued at the closing rate once (cumulatively); revaluation can be switched off by configuration.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete

from syncline.adapters.db.billing_tables import fx_rates
from syncline.bootstrap import Syncline
from syncline.ledger.fx import RevaluationPolicy, functional_imbalance
from syncline.ledger.intercompany import TransferPricing, intercompany_mismatches
from syncline.ledger.journal import trial_balance_of
from syncline.services.close import steps as close
from syncline.services.ledger.queries import charts_for, load_entries
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import fingerprint
from tests.builders import deal, time_entry, worker


def ingest(system: Syncline, *events: object) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())  # type: ignore[arg-type]
    system.process()


def rate(system: Syncline, base: str, quote: str, as_of: str, value: str,
         source: str = "ECB") -> None:
    with system.engine.begin() as conn:
        conn.execute(fx_rates.insert().values(base=base, quote=quote, as_of=as_of,
                                              rate=Decimal(value), source=source))


def entries(system: Syncline, source_type: str) -> list[Any]:
    with system.engine.connect() as conn:
        return load_entries(conn, source_type=source_type)


def open_exceptions(system: Syncline) -> list[Any]:
    with system.engine.connect() as conn:
        return list_exceptions(conn)


def checks(system: Syncline, period: str) -> dict[str, list[dict[str, Any]]]:
    report = close.reconciliation(system, period, None)["report"]
    out: dict[str, list[dict[str, Any]]] = {}
    columns = report["tables"][0]["columns"]
    for row in report["tables"][0]["rows"]:
        d = dict(zip(columns, row, strict=True))
        out.setdefault(d["check"], []).append(d)
    return out


GB_ON_US = [deal(), worker("W-2", entity="GB01", currency="GBP", cost="60.00"),
            time_entry("T-1", worker_id="W-2"), time_entry("T-2", worker_id="W-2",
                                                             day="2026-01-06")]


def test_a_gb01_consultant_on_a_us01_project_is_charged_in_both_entities(system: Syncline
                                                                         ) -> None:
    ingest(system, *GB_ON_US)
    rate(system, "GBP", "USD", "2026-01-15", "1.25")
    rate(system, "GBP", "USD", "2026-01-30", "1.27")  # the period-end rate
    rate(system, "GBP", "USD", "2026-02-02", "1.30")  # after the period: not used
    summary = close.intercompany(system, "2026-01", None)
    assert summary["charges"] == 1 and summary["entries"] == 2 and summary["exceptions"] == []
    provider, recipient = sorted(entries(system, "intercompany_charge"),
                                 key=lambda e: e.entity_id)
    # 16 h x (60.00 GBP cost x 1.10) = 16 x 66.00 = 1,056.00 GBP
    assert (provider.entity_id, recipient.entity_id) == ("GB01", "US01")
    assert (provider.source_id, recipient.source_id) == ("ic:GB01:US01:P-1:2026-01:GB01",
                                                        "ic:GB01:US01:P-1:2026-01:US01")
    assert provider.posting_date == recipient.posting_date == date(2026, 1, 31)
    assert [(ln.account, ln.side.value, ln.amount.canonical()) for ln in provider.lines] == [
        ("1300", "debit", "1056.00 GBP"), ("4950", "credit", "1056.00 GBP")]
    assert [(ln.account, ln.side.value, ln.amount.canonical()) for ln in recipient.lines] == [
        ("5100", "debit", "1056.00 GBP"), ("2400", "credit", "1056.00 GBP")]
    assert all(ln.functional is None for ln in provider.lines)  # GB01 books in GBP
    for ln in recipient.lines:  # US01 books in USD: 1,056.00 x 1.27
        assert ln.functional is not None and ln.functional.canonical() == "1341.12 USD"
        assert (ln.fx_rate, ln.fx_source, ln.fx_date) == (Decimal("1.27"), "ECB",
                                                          date(2026, 1, 30))
        assert dict(ln.dimensions)["counterparty"] == "GB01"
    assert functional_imbalance(recipient, "USD") == 0
    assert trial_balance_of([provider]).balanced and trial_balance_of([recipient]).balanced
    with system.engine.connect() as conn:
        charts = charts_for(conn, system.ref, system.charts)
        assert intercompany_mismatches(load_entries(conn), charts) == ()
        before = fingerprint(conn)
    again = close.intercompany(system, "2026-01", None)
    assert again["charges"] == 0 and again["already_posted"] == 1
    with system.engine.connect() as conn:
        assert fingerprint(conn) == before
    found = checks(system, "2026-01")
    (ic,) = found["intercompany receivable = payable"]
    assert (ic["unit"], ic["expected"], ic["actual"], ic["status"]) == (
        "GBP GB01->US01", "1056.00", "1056.00", "ok")
    (hours,) = found["cross-entity time = intercompany charges"]
    assert (hours["expected"], hours["actual"], hours["status"]) == ("16", "16", "ok")


def test_a_missing_fx_rate_is_one_exception_and_other_charges_still_post(system: Syncline
                                                                        ) -> None:
    ingest(system, *GB_ON_US, worker("W-3", entity="DE01", currency="EUR", cost="70.00"),
           time_entry("T-3", worker_id="W-3"))
    rate(system, "GBP", "USD", "2026-01-30", "1.27")  # no EUR/USD rate
    first = close.intercompany(system, "2026-01", None)
    assert first["charges"] == 1 and first["waiting_for_fx_rate"] == 1
    close.intercompany(system, "2026-01", None)  # again: still one exception
    (exc,) = open_exceptions(system)
    assert (exc.domain, exc.code) == ("finance", "ledger.intercompany_fx_rate_missing")
    assert "EUR/USD" in exc.remediation and "2026-01-31" in exc.remediation
    assert ["fx_rate", "EUR/USD"] in exc.objects and ["period", "US01:2026-01"] in exc.objects
    assert {e.source_id for e in entries(system, "intercompany_charge")} == {
        "ic:GB01:US01:P-1:2026-01:GB01", "ic:GB01:US01:P-1:2026-01:US01"}
    found = checks(system, "2026-01")
    rows = {r["unit"]: r for r in found["cross-entity time = intercompany charges"]}
    assert rows["hours DE01->US01"]["status"] == "differences"
    assert rows["hours GB01->US01"]["status"] == "ok"
    report = close.reconciliation(system, "2026-01", None)["report"]
    columns = report["tables"][1]["columns"]
    diffs = [dict(zip(columns, r, strict=True)) for r in report["tables"][1]["rows"]]
    (diff,) = [d for d in diffs if d["check"] == "cross-entity time = intercompany charges"]
    assert diff["cause"] == "charge_not_posted"
    assert (diff["object"], diff["id"]) == ("intercompany_charge", "ic:DE01:US01:P-1:2026-01")
    assert diff["detail"] == f"exception {exc.id}"
    # the rate arrives: the next run posts the charge and resolves the exception
    rate(system, "EUR", "USD", "2026-01-31", "1.09")
    later = close.intercompany(system, "2026-01", None)
    assert later["charges"] == 1 and later["already_posted"] == 1
    assert open_exceptions(system) == []


def test_rate_card_transfer_pricing_and_pair_markups(system: Syncline) -> None:
    ingest(system, *GB_ON_US)
    rate(system, "GBP", "USD", "2026-01-30", "1.27")
    system.ledger = replace(system.ledger, intercompany=TransferPricing(
        markup=Decimal("0.10"), pair_markups=(("GB01", "US01", Decimal("0.05")),)))
    close.intercompany(system, "2026-01", None)
    (gb,) = [e for e in entries(system, "intercompany_charge") if e.entity_id == "GB01"]
    assert gb.lines[0].amount.canonical() == "1008.00 GBP"  # 16 h x 63.00 (60.00 + 5 %)
    assert "16 h x 63.00 GBP" in gb.lines[0].memo


def eur_contract_of_us01(system: Syncline) -> None:
    """A EUR contract of US01 with 16 approved hours at 200.00: billing invoices in EUR with
    USD functional amounts at the recorded rate."""
    ingest(system, deal(currency="EUR"), worker(), time_entry("T-1"),
           time_entry("T-2", day="2026-01-06"))


def test_open_eur_receivables_are_revalued_at_the_closing_rate_once(system: Syncline) -> None:
    eur_contract_of_us01(system)
    rate(system, "EUR", "USD", "2026-01-02", "1.08")
    assert close.billing(system, "2026-01", None)["invoices"] == 1  # 3,200 EUR at 1.08
    rate(system, "EUR", "USD", "2026-01-31", "1.10", source="ECB closing")
    summary = close.fx_revaluation(system, "2026-01", None)
    assert summary["entries"] == 1
    (entry,) = entries(system, "fx_revaluation")
    assert (entry.entity_id, entry.source_id, entry.posting_date) == (
        "US01", "fxreval:US01:2026-01", date(2026, 1, 31))
    # 3,200 EUR: carried at 3,456.00 USD, restated 3,520.00 USD: a 64.00 USD gain
    assert [(ln.account, ln.side.value, ln.amount.canonical()) for ln in entry.lines] == [
        ("1100", "debit", "64.00 USD"), ("7900", "credit", "64.00 USD")]
    assert (entry.lines[0].fx_rate, entry.lines[0].fx_source, entry.lines[0].fx_date) == (
        Decimal("1.10"), "ECB closing", date(2026, 1, 31))
    assert summary["entities"]["US01"]["gain_loss"] == "64.00"
    with system.engine.connect() as conn:
        before = fingerprint(conn)
    again = close.fx_revaluation(system, "2026-01", None)  # a second close
    assert again["entries"] == 0
    with system.engine.connect() as conn:
        assert fingerprint(conn) == before
    found = checks(system, "2026-01")
    (reval,) = found["foreign balances revalued at closing rate"]
    assert (reval["unit"], reval["expected"], reval["actual"], reval["status"]) == (
        "USD (EUR 1100)", "3520.00", "3520.00", "ok")
    assert all(r["status"] == "ok" for r in found["AR subledger = GL"])
    # the revenue comes out of the contract liability at its historical rate (IFRIC 22)
    assert close.recognition(system, "2026-01", None)["journal_entries"] == 1
    (true_up,) = entries(system, "revenue")
    assert [(ln.account, ln.side.value, ln.amount.canonical(), ln.functional.canonical()
             if ln.functional else None, ln.fx_rate) for ln in true_up.lines] == [
        ("2300", "debit", "3200.00 EUR", "3456.00 USD", Decimal("1.08")),
        ("4010", "credit", "3200.00 EUR", "3456.00 USD", Decimal("1.08"))]
    # next month the rate falls back: only the movement since January is posted (cumulative)
    rate(system, "EUR", "USD", "2026-02-27", "1.05")
    feb = close.fx_revaluation(system, "2026-02", None)
    assert feb["entities"]["US01"]["gain_loss"] == "-160.00"  # 3,200 x (1.05 - 1.10)


def test_revaluation_before_the_close_rate_moves_shows_as_a_difference(system: Syncline
                                                                       ) -> None:
    eur_contract_of_us01(system)
    rate(system, "EUR", "USD", "2026-01-02", "1.08")
    close.billing(system, "2026-01", None)
    rate(system, "EUR", "USD", "2026-01-31", "1.10")
    (reval,) = checks(system, "2026-01")["foreign balances revalued at closing rate"]
    assert (reval["expected"], reval["actual"], reval["status"]) == (
        "3520.00", "3456.00", "differences")


def test_a_missing_closing_rate_is_one_exception(system: Syncline) -> None:
    eur_contract_of_us01(system)
    rate(system, "EUR", "USD", "2026-01-02", "1.08")
    close.billing(system, "2026-01", None)
    with system.engine.begin() as conn:  # treasury withdrew the rate after the invoice run
        conn.execute(delete(fx_rates))
    first = close.fx_revaluation(system, "2026-01", None)
    close.fx_revaluation(system, "2026-01", None)
    assert first["entries"] == 0 and first["entities"]["US01"]["waiting_for_rate"] == ["EUR"]
    (exc,) = open_exceptions(system)
    assert (exc.domain, exc.code) == ("finance", "ledger.revaluation_fx_rate_missing")
    assert "EUR/USD" in exc.remediation
    (reval,) = checks(system, "2026-01")["foreign balances revalued at closing rate"]
    assert reval["status"] == "differences"


def test_revaluation_disabled_by_configuration_posts_nothing(system: Syncline) -> None:
    eur_contract_of_us01(system)
    rate(system, "EUR", "USD", "2026-01-02", "1.08")
    close.billing(system, "2026-01", None)
    rate(system, "EUR", "USD", "2026-01-31", "1.10")
    system.ledger = replace(system.ledger, fx_revaluation=RevaluationPolicy(enabled=False))
    summary = close.fx_revaluation(system, "2026-01", None)
    assert summary["skipped"] is True and "enabled is false" in summary["note"]
    assert entries(system, "fx_revaluation") == []
    (reval,) = checks(system, "2026-01")["foreign balances revalued at closing rate"]
    assert reval["status"] == "skipped"


def test_foreign_revenue_without_a_closing_rate_waits_as_one_exception(system: Syncline
                                                                        ) -> None:
    eur_contract_of_us01(system)
    rate(system, "EUR", "USD", "2026-01-02", "1.08")
    close.billing(system, "2026-01", None)
    with system.engine.begin() as conn:  # treasury withdrew the rate after the invoice run
        conn.execute(delete(fx_rates))
    for _ in range(2):  # a repeated close: still one exception
        assert close.recognition(system, "2026-01", None)["refused"] == ["C-1"]
    with system.engine.connect() as conn:
        waiting = [e for e in list_exceptions(conn) if e.code == "revenue.fx_rate_missing"]
    assert len(waiting) == 1 and waiting[0].status == "open"
    rate(system, "EUR", "USD", "2026-01-31", "1.10")
    assert close.recognition(system, "2026-01", None)["journal_entries"] == 1
    with system.engine.connect() as conn:
        (done,) = [e for e in list_exceptions(conn, status=None)
                   if e.code == "revenue.fx_rate_missing"]
    assert done.status == "resolved"
    (true_up,) = entries(system, "revenue")
    assert functional_imbalance(true_up, "USD") == 0
