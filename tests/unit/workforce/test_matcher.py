"""The staffing matcher (domain/staffing.py): ranking by the stated score, hand-computed, and
reasons that read like a staffing meeting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from syncline.domain.staffing import Booking, Request, Span, Worker, match, overload

FEB = Span(date(2026, 2, 2), date(2026, 2, 27))  # 4 weeks, 20 weekdays
D = Decimal

REQUEST = Request("RR-1", "consultant", D(20), FEB, skills={"python": 3, "sql": 2},
                  city="Boston", bill_rate=D(150))
ANA = Worker("W-1", "Ana", "consultant", D("80.00"), skills={"python": 4, "sql": 2},
             city="Boston", bookings=(Booking(D(20), FEB),))
BEN = Worker("W-2", "Ben", "consultant", D(60), skills={"python": 2, "sql": 3}, city="Chicago",
             country="US")
CLEO = Worker("W-3", "Cleo", "analyst", D(100), skills={"python": 5, "sql": 5}, city="boston",
              unavailable=(Span(date(2026, 2, 9), date(2026, 2, 13)),))
DAN = Worker("W-4", "Dan", "consultant", D(50), skills={"python": 5, "sql": 5}, city="Boston",
             last_day=date(2026, 2, 20))


def test_candidates_rank_by_the_hand_computed_score() -> None:
    ranked = match(REQUEST, [DAN, CLEO, BEN, ANA])
    # Ana: 35 skills + 30 free + 15×70/150=7.0 cost + 10 city + 5 role + 5×0.75=3.8 (half even)
    # Ben: 35×(2/3+1)/2=29.2 + 30 + 9.0 + 0 + 5 + 5×0.625=3.1
    # Cleo: 35 + 0 (no hour free in her leave week) + 5.0 + 10 + 0 + 5×(1−0.1333/0.8)=4.2
    # Dan leaves before the request ends: not a candidate.
    assert [(c.name, c.score) for c in ranked] == [
        ("Ana", D("90.8")), ("Ben", D("76.3")), ("Cleo", D("54.2"))]
    assert ranked[0].parts == {"skills": D("35.0"), "availability": D("30.0"),
                               "cost": D("7.0"), "location": D("10.0"), "role": D("5.0"),
                               "utilization": D("3.8")}
    assert [c.name for c in match(REQUEST, [DAN, CLEO, BEN, ANA], top=2)] == ["Ana", "Ben"]


def test_reasons_read_like_a_staffing_meeting() -> None:
    ana, ben, cleo = match(REQUEST, [ANA, BEN, CLEO])
    assert ana.summary() == ("Ana: python 4/3 ✓, sql 2/2 ✓, 20 of 20 h/wk free over the "
                             "window, cost 80 vs rate 150, same city, 50% → 100% (target 80%)")
    assert ben.summary() == ("Ben: python 2/3 ✗, sql 3/2 ✓, 40 of 20 h/wk free over the "
                             "window, cost 60 vs rate 150, elsewhere (Chicago), 0% → 50% "
                             "(target 80%)")
    assert cleo.reasons[2] == ("0 of 20 h/wk free over the window "
                               "(away 2026-02-09 to 2026-02-13)")
    assert "role analyst, not consultant" in cleo.reasons


def test_ties_go_to_the_lower_worker_id_and_non_billable_work_is_not_ranked_on_cost() -> None:
    free = Request("RR-2", "consultant", D(10), FEB)
    twin_a = Worker("W-9", "Zed", "consultant", D(500))
    twin_b = Worker("W-5", "Yan", "consultant", D(10))
    ranked = match(free, [twin_a, twin_b])
    assert [c.worker_id for c in ranked] == ["W-5", "W-9"]
    assert ranked[0].score == ranked[1].score
    assert "cost 500, no bill rate" in ranked[1].reasons


def test_overload_names_the_days_above_capacity() -> None:
    busy = Worker("W-1", "Ana", "consultant", D(80), capacity=D(30),
                  bookings=(Booking(D(20), FEB),))
    late = Span(date(2026, 2, 23), date(2026, 3, 6))
    assert overload(busy, Booking(D(10), late)) == []
    over = overload(busy, Booking(D(15), late))
    assert over == [date(2026, 2, d) for d in range(23, 28)]  # only the overlapping week
