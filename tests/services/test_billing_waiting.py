"""Messages that wait for a rate instead of failing (issue 9, finding 10d): an expense whose
receipt currency has no FX rate, approved time whose role has no bill rate, are parked on
``fx:<BASE>/<QUOTE>:<date>`` / ``rate_card:<contract>`` and applied on their own when the
rate arrives; left waiting past the park age, the FX one is a finance exception, the rate
card one a billing exception."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from syncline.adapters.db.tables import billable_items, inbox, parked
from syncline.bootstrap import Syncline
from syncline.services.messaging.exceptions import list_exceptions
from tests.builders import deal, time_entry, worker
from tests.services.test_billing_wiring import expense, ingest, lines_of, run
from tests.services.test_rate_cards_close_fx import fx_published, rate_card

D = Decimal
LATER = datetime(2026, 3, 1, tzinfo=UTC)  # long after the park age (72 h) of January events


def waiting(system: Syncline) -> list[tuple[str, str]]:
    with system.engine.connect() as conn:
        return [(r.prerequisite, r.status) for r in conn.execute(
            select(parked.c.prerequisite, inbox.c.status)
            .join(inbox, inbox.c.id == parked.c.inbox_id)
            .where(parked.c.released_at.is_(None)))]


def test_an_expense_waits_for_its_fx_rate_and_is_priced_when_it_arrives(system: Syncline
                                                                        ) -> None:
    """100.00 GBP incurred 2026-01-08 on a USD contract, no GBP rate: parked on
    fx:GBP/USD:2026-01-08, no exception. A rate as of 2026-01-09 does not price a receipt of
    the 8th (rates apply on or after their date): still waiting. The rate of 2026-01-02
    (1 GBP = 1.2650 USD) does: released and priced at 126.50 without a replay."""
    ingest(system, deal(), worker(), expense("EX-1", "100.00", "GBP"))
    assert waiting(system) == [("fx:GBP/USD:2026-01-08", "parked")]
    with system.engine.connect() as conn:
        assert list_exceptions(conn) == []
    ingest(system, fx_published("GBP", {"USD": "1.3000"}, as_of="2026-01-09"))
    assert waiting(system) == [("fx:GBP/USD:2026-01-08", "parked")]
    ingest(system, fx_published("USD", {"GBP": "0.7905"}, as_of="2026-01-02"))  # inverse
    assert waiting(system) == []
    with system.engine.connect() as conn:
        item = conn.execute(select(billable_items)).one()
        assert list_exceptions(conn) == []
    assert (item.key, item.amount) == ("expense:EX-1", D("126.50"))  # 100 / 0.7905
    (number,) = run(system, "2026-01").invoices
    assert lines_of(system, number)[0][2] == D("126.50")


def test_an_fx_rate_that_never_comes_is_a_finance_exception(system: Syncline) -> None:
    ingest(system, deal(), worker(), expense("EX-1", "80000", "JPY"))
    assert system.sweep(as_of=LATER) == 1
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert (exc.domain, exc.code) == ("finance", "parked.fx_missing")
    assert "JPY/USD" in exc.message and "fx.rates_published" in exc.message


def test_time_waits_for_its_rate_card_and_is_priced_when_it_arrives(system: Syncline) -> None:
    """An architect's 8 h on 2026-01-05, no architect rate anywhere: parked on
    rate_card:C-1, no exception. The default card STD-USD v1 (architect 275.00) arrives:
    released, priced 8 × 275.00 = 2,200.00."""
    ingest(system, deal(rates=[]), worker("W-9", role="architect"),
           time_entry("T-1", worker_id="W-9", role="architect"))
    assert waiting(system) == [("rate_card:C-1", "parked")]
    ingest(system, rate_card("STD-USD", 1, {"architect": "275"}))
    assert waiting(system) == []
    with system.engine.connect() as conn:
        item = conn.execute(select(billable_items)).one()
        assert list_exceptions(conn) == []
    assert (item.key, item.amount, item.rate_card) == ("time:T-1", D("2200.00"), "STD-USD v1")


def test_a_rate_card_that_never_comes_is_a_billing_exception(system: Syncline) -> None:
    ingest(system, deal(rates=[]), worker("W-9", role="architect"),
           time_entry("T-1", worker_id="W-9", role="architect"))
    assert system.sweep(as_of=LATER) == 1
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert (exc.domain, exc.code) == ("billing", "parked.rate_card_missing")
    assert "architect" in exc.message and "rate_card.published" in exc.message


def test_time_that_loses_its_rate_waits_like_time_that_never_had_one(system: Syncline) -> None:
    """An architect's 8 h on 2026-01-20, priced by STD-USD v1 (architect 275.00 from
    2026-01-01) at 2,200.00. STD-USD v2 from 2026-01-15 drops the role (consultant only):
    no rate anywhere on the 20th, so the time goes back to waiting on rate_card:C-1 — its
    entry and open item removed, no exception — exactly as if it had arrived after v2.
    STD-USD v3 from 2026-01-15 (architect 300.00) releases it: 8 × 300.00 = 2,400.00.
    Before: the time was withdrawn with a billing.rate_missing exception and needed a replay
    by hand."""
    from syncline.adapters.db.tables import time_entries

    ingest(system, deal(rates=[]), worker("W-9", role="architect"),
           rate_card("STD-USD", 1, {"architect": "275"}),
           time_entry("T-1", worker_id="W-9", role="architect", day="2026-01-20"))
    ingest(system, rate_card("STD-USD", 2, {"consultant": "200"}, start="2026-01-15"))
    assert waiting(system) == [("rate_card:C-1", "parked")]
    with system.engine.connect() as conn:
        assert list_exceptions(conn) == []
        assert conn.execute(select(billable_items)).all() == []
        assert conn.execute(select(time_entries)).all() == []
    ingest(system, rate_card("STD-USD", 3, {"architect": "300"}, start="2026-01-15"))
    assert waiting(system) == []
    with system.engine.connect() as conn:
        item = conn.execute(select(billable_items)).one()
        assert list_exceptions(conn) == []
    assert (item.key, item.amount, item.rate_card) == ("time:T-1", D("2400.00"), "STD-USD v3")
