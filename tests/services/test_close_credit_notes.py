"""A month with a credit note closes and locks: credit notes are negative documents, so every
net amount adds them (docs/ledger.md, "Credit notes are negative documents").

The firm, by hand: contract C-1 (US01, USD, time and materials, consultant at 200.00/h,
tax exempt), worker W-1 at 80.00/h cost.

- January: T-1 8 h on 2026-01-05 and T-2 8 h on 2026-01-06 → invoice US01-2026-000001 of
  16 h x 200.00 = 3,200.00; labor cost 16 h x 80.00 = 1,280.00. The January close locks.
- February: T-2 is rejected (after its invoice) → credit note US01-CN-2026-000001 dated
  2026-02-28 of -1,600.00 (8 h x 200.00, stored negative). The invoice's open amount is
  3,200.00 + (-1,600.00) = 1,600.00, which is the AR balance (Dr 3,200.00, Cr 1,600.00).
  Subtracting the negative note gave 4,800.00: the month never locked.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.close import steps as close
from syncline.services.ledger.reports import Report, build_report
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, rejection, time_entry, worker
from tests.conftest import fixed_clock


def make_system(tmp_path: Path, mode: str, name: str = "books.db") -> Syncline:
    return bootstrap(Settings(database_url=f"sqlite:///{tmp_path / name}",
                              revenue_recognition=mode),  # type: ignore[arg-type]
                     clock=fixed_clock, durable=False)


@pytest.fixture
def on_invoice(tmp_path: Path) -> Iterator[Syncline]:
    system = make_system(tmp_path, "on_invoice")
    yield system
    system.engine.dispose()


def ingest(system: Syncline, *events: dict[str, Any]) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())
    system.process()


def close_month(system: Syncline, period: str) -> dict[str, Any]:
    """The close's steps in order (as the durable workflow runs them), then close and lock
    when every check agrees."""
    out: dict[str, Any] = {name: step(system, period, None) for name, step in close.LEDGER_STEPS}
    out["lock"] = close.close_and_lock(system, period, None, actor="controller",
                                       lock=bool(out["reconciliation"]["ok"]))
    return out


def checks(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The reconciliation's summary rows of a close, by (check, entity)."""
    table = result["reconciliation"]["report"]["tables"][0]
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
    return {(r["check"], r["entity"]): r for r in rows}


def not_agreeing(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in checks(result).values() if r["status"] not in ("ok", "skipped")]


def january_then_rejection(system: Syncline) -> dict[str, Any]:
    """The docstring's firm: January closed and locked, then T-2 rejected in February."""
    ingest(system, deal(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    jan = close_month(system, "2026-01")
    assert jan["lock"]["US01"] == "locked", not_agreeing(jan)
    late = rejection("T-2")
    late["time"] = "2026-02-03T10:00:00Z"
    ingest(system, late)
    return jan


def report(system: Syncline, name: str, period: str, **kw: Any) -> Report:
    with system.engine.connect() as conn:
        return build_report(conn, name, period, ref=system.ref, chart=system.charts,
                            revenue_mode=system.settings.revenue_recognition, **kw)


def test_a_month_with_a_credit_note_locks_with_every_check_agreeing(on_invoice: Syncline
                                                                     ) -> None:
    january_then_rejection(on_invoice)

    feb = close_month(on_invoice, "2026-02")

    assert feb["lock"]["US01"] == "locked", not_agreeing(feb)
    assert not_agreeing(feb) == []
    ar = checks(feb)[("AR subledger = GL", "US01")]
    assert (ar["expected"], ar["actual"], ar["status"]) == ("1600.00", "1600.00", "ok")


def test_margin_takes_the_credit_note_off_the_revenue_of_its_month(on_invoice: Syncline
                                                                    ) -> None:
    """February's revenue is the credit note alone: 0.00 invoiced + (-1,600.00) credited."""
    january_then_rejection(on_invoice)
    close_month(on_invoice, "2026-02")

    (row,) = report(on_invoice, "margin", "2026-02").tables[0].as_dicts()

    assert (row["project"], row["revenue"]) == ("P-1", Decimal("-1600.00"))


def test_in_engine_mode_a_month_with_a_credit_note_locks(tmp_path: Path) -> None:
    system = make_system(tmp_path, "engine")
    try:
        january_then_rejection(system)
        feb = close_month(system, "2026-02")
        assert not_agreeing(feb) == []
    finally:
        system.engine.dispose()
