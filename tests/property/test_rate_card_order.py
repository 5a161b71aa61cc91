"""Property: rate card versions published in any order, with duplicates (the same delivery
again, or the same version re-published under another id), interleaved in any way with the
deal, the workers and the time, give the same price for every time entry."""

from __future__ import annotations

import copy
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from syncline.adapters.db.tables import billable_items
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, time_entry, worker
from tests.conftest import examples, fixed_clock
from tests.services.test_rate_cards_close_fx import rate_card

CARDS = [
    rate_card("STD-USD", 1, {"analyst": "120", "consultant": "160", "manager": "260"},
              increment="0.25", id_="std-1"),
    rate_card("STD-USD", 2, {"analyst": "125", "consultant": "165"}, start="2026-02-01",
              increment="0.5", id_="std-2"),
    rate_card("STD-USD", 3, {"analyst": "122"}, start="2026-01-20", rounding="down",
              increment="0.25", id_="std-3"),  # a correction effective before v2: v2 is dead
    rate_card("ACME", 1, {"consultant": "150"}, scope="customer", key="ACC-D-1",
              start="2026-01-10", end="2026-02-10", id_="acme-1"),
    rate_card("ACME", 2, {"consultant": "148", "manager": "240"}, scope="customer",
              key="ACC-D-1", start="2026-02-05", id_="acme-2"),
    rate_card("C-1-RATES", 1, {"manager": "230"}, scope="contract", key="C-1",
              start="2026-02-15", increment="1", rounding="half_up", id_="c1-1"),
]
ROLES = {"W-1": "analyst", "W-2": "consultant", "W-3": "manager"}
DAYS = ["2026-01-05", "2026-01-12", "2026-01-21", "2026-02-02", "2026-02-09", "2026-02-16",
        "2026-03-02"]
TIME = [time_entry(f"T-{w}-{d}", worker_id=w, role=r, day=d, hours="7.35")
        for w, r in ROLES.items() for d in DAYS]
BASE = [deal(rates=[]), *(worker(w, role=r) for w, r in ROLES.items())]
EVENTS = [*BASE, *CARDS, *TIME]


def _republished(card: dict[str, Any], n: int) -> dict[str, Any]:
    again = copy.deepcopy(card)
    again["id"] = f"{card['id']}-again-{n}"
    return again


def _prices(events: list[dict[str, Any]]) -> dict[str, tuple[Decimal, Decimal, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'p.db'}"),
                           clock=fixed_clock, durable=False)
        with system.engine.begin() as conn:
            receive_many(conn, events, now=fixed_clock())  # type: ignore[arg-type]
        system.process()
        with system.engine.connect() as conn:
            assert list_exceptions(conn) == []
            out = {r.key: (r.quantity, r.amount, r.rate_card) for r in
                   conn.execute(select(billable_items))}
        system.engine.dispose()
        return out


CANONICAL = _prices(EVENTS)


def test_the_canonical_order_prices_by_precedence_and_version() -> None:
    def price(w: str, d: str) -> tuple[Decimal, Decimal, str]:
        return CANONICAL[f"time:T-{w}-{d}"]

    assert price("W-1", "2026-01-12") == (Decimal("7.50"), Decimal("900.00"), "STD-USD v1")
    assert price("W-1", "2026-02-02") == (Decimal("7.25"), Decimal("884.50"), "STD-USD v3")
    assert price("W-2", "2026-01-12") == (Decimal("7.35"), Decimal("1102.50"), "ACME v1")
    assert price("W-2", "2026-02-16") == (Decimal("7.35"), Decimal("1087.80"), "ACME v2")
    assert price("W-3", "2026-01-05") == (Decimal("7.50"), Decimal("1950.00"), "STD-USD v1")
    assert price("W-3", "2026-02-02") == (Decimal("7.35"), Decimal("1837.50"),
                                          "reference:USD v1")  # v3 has no managers
    assert price("W-3", "2026-02-09") == (Decimal("7.35"), Decimal("1764.00"), "ACME v2")
    assert price("W-3", "2026-03-02") == (Decimal("7"), Decimal("1610.00"), "C-1-RATES v1")


@pytest.mark.slow
@settings(max_examples=examples(15), suppress_health_check=[HealthCheck.too_slow])
@given(order=st.permutations(range(len(EVENTS))),
       dupes=st.lists(st.integers(min_value=0, max_value=len(EVENTS) - 1), max_size=12),
       republish=st.lists(st.integers(min_value=0, max_value=len(CARDS) - 1), max_size=4))
def test_any_order_with_duplicates_gives_the_same_prices(
        order: list[int], dupes: list[int], republish: list[int]) -> None:
    events = [EVENTS[i] for i in order]
    for n, i in enumerate(dupes):
        events.insert((n * 7919) % (len(events) + 1), EVENTS[i])
    for n, i in enumerate(republish):
        events.insert((n * 104729) % (len(events) + 1), _republished(CARDS[i], n))
    assert _prices(events) == CANONICAL
