"""Property: whatever assignments the PSA confirms, in any order, the hours planned on a
worker never exceed their capacity on any weekday (leave counted), except on days an
assignment approved as an over-allocation covers."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from syncline.adapters.db.workforce_tables import assignments
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.governance import approvals
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal
from tests.conftest import examples, fixed_clock
from tests.workforce_builders import assignment, person, request

MONDAY = date(2026, 2, 2)

booking = st.tuples(st.sampled_from(["W-1", "W-2"]), st.integers(1, 8).map(lambda h: h * 5),
                    st.integers(0, 5), st.integers(1, 4), st.booleans())


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bookings=st.lists(booking, min_size=1, max_size=8),
       capacity=st.sampled_from(["20", "32", "40"]), leave_week=st.integers(0, 6))
def test_planned_hours_never_exceed_capacity_unless_approved(
        bookings: list[tuple[str, int, int, int, bool]], capacity: str, leave_week: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'p.db'}"),
                           clock=fixed_clock, durable=False)
        leave = (MONDAY + timedelta(weeks=leave_week),
                 MONDAY + timedelta(weeks=leave_week, days=2))
        events = [deal(), person("W-1", capacity=capacity,
                                 leave=[(leave[0].isoformat(), leave[1].isoformat())]),
                  person("W-2", capacity=capacity)]
        with system.engine.begin() as conn:
            for i, (wid, hours, week, weeks, approved) in enumerate(bookings):
                start = MONDAY + timedelta(weeks=week)
                end = start + timedelta(weeks=weeks, days=-3)  # Friday
                window = {"start": start.isoformat(), "end": end.isoformat()}
                events += [request(f"RR-{i}", hours=str(hours), **window),
                           assignment(f"A-{i}", wid, request_id=f"RR-{i}", hours=str(hours),
                                      **window)]
                if approved:
                    approvals.create(conn, kind="over_allocation", subject=f"assignment/A-{i}",
                                     amount=None, currency=None, payload={}, reason="test",
                                     by="pmo", now=fixed_clock(), auto=True)
            receive_many(conn, events, now=fixed_clock())
        system.process()
        with system.engine.connect() as conn:
            stored = list(conn.execute(select(assignments)))
        system.engine.dispose()
    assert stored or all(h > 0 for _, h, *_ in bookings)
    cap = Decimal(capacity) / 5
    for wid in ("W-1", "W-2"):
        mine = [a for a in stored if a.worker_id == wid]
        day = MONDAY
        while day < MONDAY + timedelta(weeks=10):
            covering = [a for a in mine if a.start_date <= day.isoformat() <= a.end_date]
            planned = sum((a.hours_per_week / 5 for a in covering), Decimal(0))
            away = wid == "W-1" and leave[0] <= day <= leave[1]
            if day.weekday() < 5 and not any(a.approval_id for a in covering):
                assert planned <= (0 if away else cap), (wid, day, planned)
            day += timedelta(days=1)
