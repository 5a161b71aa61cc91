"""Periods in the database and the posting check (DESIGN.md §7 Ledger, issue: periods)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import exceptions, journal_entries
from syncline.bootstrap import Syncline
from syncline.ledger.journal import JournalEntry, JournalLine, Side, line
from syncline.ledger.money import Money
from syncline.services.ledger.periods import (
    PeriodChangeRefused,
    change_period,
    list_periods,
    period_history,
    status_of,
)
from syncline.services.ledger.posting import post, post_entry
from syncline.services.ledger.queries import load_entries
from syncline.services.messaging.exceptions import list_exceptions
from tests.conftest import FIXED_NOW


def entry(day: date, source_id: str = "tim_1", entity: str = "US01") -> JournalEntry:
    amount = Money.of("10", "USD")
    return JournalEntry(entity, day, f"Approved time {source_id}",
                        (line("5000", Side.DEBIT, amount), line("2100", Side.CREDIT, amount)),
                        "time.approved", source_id)


def close(system: Syncline, period: str, entity: str = "US01", action: str = "close",
          **kw: str) -> None:
    with system.engine.begin() as conn:
        change_period(conn, entity, period, action, actor=kw.get("actor", "cfo"),
                      role=kw.get("role", "controller" if action in ("lock", "reopen")
                                  else "finance"),
                      reason=kw.get("reason", "month end" if action == "lock" else None),
                      now=FIXED_NOW)


def test_a_month_without_a_row_is_open_and_posts(system: Syncline) -> None:
    with system.engine.begin() as conn:
        assert status_of(conn, "US01", "2026-03").value == "open"
        assert post_entry(conn, entry(date(2026, 3, 5)), FIXED_NOW) is True
        assert post_entry(conn, entry(date(2026, 3, 5)), FIXED_NOW) is False  # once per source


def test_posting_into_a_closed_period_is_refused_as_one_finance_exception(
        system: Syncline) -> None:
    close(system, "2026-03")
    with system.engine.begin() as conn:
        first = post(conn, entry(date(2026, 3, 5)), FIXED_NOW)
        again = post(conn, entry(date(2026, 3, 5)), FIXED_NOW)
        assert not post_entry(conn, entry(date(2026, 3, 5)), FIXED_NOW)
        assert first.status == "refused" and again.exception_id == first.exception_id
        assert conn.execute(select(journal_entries)).all() == []
        excs = list_exceptions(conn, domain="finance")
    assert len(excs) == 1
    exc = excs[0]
    assert exc.code == "ledger.period_closed" and exc.domain == "finance"
    assert ["journal", "time.approved:tim_1"] in exc.objects
    assert ["period", "US01:2026-03"] in exc.objects
    assert "reopen" in exc.remediation


def test_after_a_reopen_the_entry_posts_and_its_exception_resolves(system: Syncline) -> None:
    close(system, "2026-03")
    with system.engine.begin() as conn:
        assert post(conn, entry(date(2026, 3, 5)), FIXED_NOW).status == "refused"
    close(system, "2026-03", action="reopen", reason="late invoice")
    with system.engine.begin() as conn:
        assert post(conn, entry(date(2026, 3, 5)), FIXED_NOW).status == "posted"
        statuses = [r.status for r in conn.execute(select(exceptions))]
    assert statuses == ["resolved"]


def test_locked_period_refuses_with_its_own_code(system: Syncline) -> None:
    close(system, "2026-02")
    close(system, "2026-02", action="lock")
    with system.engine.begin() as conn:
        out = post(conn, entry(date(2026, 2, 27)), FIXED_NOW)
        code = conn.execute(select(exceptions.c.code)).scalar_one()
    assert out.status == "refused" and code == "ledger.period_locked"


def test_next_open_policy_moves_the_entry_with_a_reference(system: Syncline) -> None:
    close(system, "2026-03")
    close(system, "2026-04")
    with system.engine.begin() as conn:
        out = post(conn, entry(date(2026, 3, 20)), FIXED_NOW, policy="next_open")
        assert out.status == "moved" and out.period == "2026-05"
        (stored,) = load_entries(conn)
    assert stored.posting_date == date(2026, 5, 1)
    meta = dict(stored.metadata)
    assert meta == {"moved_from_period": "2026-03", "original_posting_date": "2026-03-20"}
    assert "moved from closed period 2026-03" in stored.description


def test_other_entities_are_not_affected(system: Syncline) -> None:
    close(system, "2026-03", entity="GB01")
    with system.engine.begin() as conn:
        assert post(conn, entry(date(2026, 3, 5)), FIXED_NOW).status == "posted"


def test_line_details_round_trip(system: Syncline) -> None:
    eur, usd = Money.of("100", "EUR"), Money.of("108.37", "USD")
    lines = (
        JournalLine("1100", Side.DEBIT, eur, functional=usd, fx_rate=Decimal("1.0837"),
                    fx_source="ECB", memo="inv", dimensions=(("customer", "cus_1"),),
                    fx_date=date(2026, 3, 1)),
        JournalLine("4000", Side.CREDIT, eur, functional=usd, fx_rate=Decimal("1.0837"),
                    fx_source="ECB", memo="inv", dimensions=(("project", "P-1"),
                                                             ("service_line", "consulting")),
                    fx_date=date(2026, 3, 1)),
    )
    original = JournalEntry("US01", date(2026, 3, 31), "Invoice 1", lines, "invoice", "inv_1",
                            metadata=(("contract", "C-1"),))
    with system.engine.begin() as conn:
        assert post_entry(conn, original, FIXED_NOW)
        (loaded,) = load_entries(conn, period="2026-03", entity="US01")
        assert load_entries(conn, period="2026-04") == []
        assert load_entries(conn, entity="GB01") == []
    assert loaded == original


def test_transitions_roles_reasons_and_audit(system: Syncline) -> None:
    with pytest.raises(PeriodChangeRefused, match="finance role"):
        close(system, "2026-03", role="pmo")
    close(system, "2026-03")
    with pytest.raises(PeriodChangeRefused, match="needs the controller role"):
        close(system, "2026-03", action="lock", role="finance")  # separation of duties
    with pytest.raises(PeriodChangeRefused, match="needs the controller role"):
        close(system, "2026-03", action="reopen", role="finance", reason="late invoice")
    with pytest.raises(PeriodChangeRefused, match="reason"):
        close(system, "2026-03", action="lock", reason="")
    with pytest.raises(PeriodChangeRefused, match="reason"):
        close(system, "2026-03", action="reopen")
    with pytest.raises(PeriodChangeRefused, match="use reopen"):
        close(system, "2026-03", action="open")
    close(system, "2026-03", action="lock")
    with pytest.raises(PeriodChangeRefused, match="cannot become open"):
        close(system, "2026-03", action="reopen", reason="oops")
    with pytest.raises(PeriodChangeRefused, match="YYYY-MM"):
        close(system, "2026-13")
    with system.engine.connect() as conn:
        periods = list_periods(conn)
        history = period_history(conn, "US01")
    assert [(p.period, p.status) for p in periods] == [("2026-03", "locked")]
    assert [(h["action"], h["from_status"], h["to_status"], h["actor"], h["role"])
            for h in history] == [("close", "open", "closed", "cfo", "finance"),
                                  ("lock", "closed", "locked", "cfo", "controller")]
