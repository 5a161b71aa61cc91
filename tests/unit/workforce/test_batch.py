"""The batch matcher (domain/staffing/batch.py) gives the single path's answer: the same
candidates, scores, parts and reasons, in the same order, for random firms."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncline.domain.staffing import Booking, Request, Span, Worker, match, match_many

START = date(2026, 1, 5)
D = Decimal
SKILLS = ("python", "sql", "sap-fi", "react")
CITIES = (("Boston", "US", "America/New_York"), ("Chicago", "US", "America/Chicago"),
          ("London", "GB", "Europe/London"), (None, None, None))


@st.composite
def spans(draw: st.DrawFn, longest: int = 70) -> Span:
    start = START + timedelta(days=draw(st.integers(0, 90)))
    return Span(start, start + timedelta(days=draw(st.integers(0, longest))))


@st.composite
def workers(draw: st.DrawFn, i: int) -> Worker:
    city, country, zone = draw(st.sampled_from(CITIES))
    return Worker(
        f"W-{draw(st.integers(1, 30)):02d}-{i}", f"Person {i}",
        draw(st.sampled_from(("consultant", "analyst", "manager"))),
        D(draw(st.sampled_from(("60", "80.50", "100", "149.99", "150", "200")))),
        skills=draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=3)),
        city=draw(st.sampled_from((city, city.upper() if city else None))), country=country,
        time_zone=zone, capacity=D(draw(st.sampled_from(("40", "32", "37.5", "20", "0")))),
        target=D(draw(st.sampled_from(("0.80", "0.5", "1", "0")))),
        unavailable=tuple(draw(st.lists(spans(10), max_size=2))),
        bookings=tuple(Booking(D(draw(st.sampled_from(("8", "20", "12.5", "40")))), s)
                       for s in draw(st.lists(spans(), max_size=3))),
        last_day=draw(st.none() | st.just(START + timedelta(days=draw(st.integers(0, 200))))))


@st.composite
def requests(draw: st.DrawFn, i: int) -> Request:
    city, country, zone = draw(st.sampled_from(CITIES))
    return Request(
        f"RR-{i}", draw(st.sampled_from(("consultant", "analyst", "partner"))),
        D(draw(st.sampled_from(("8", "20", "37.5", "40", "2.25")))), draw(spans()),
        skills=draw(st.dictionaries(st.sampled_from((*SKILLS, "cobol")), st.integers(1, 5),
                                    max_size=3)),
        city=draw(st.sampled_from((city, None))), country=draw(st.sampled_from((country, None))),
        time_zone=draw(st.sampled_from((zone, None))),
        bill_rate=draw(st.sampled_from((None, D("150"), D("99.99"), D("300")))))


@st.composite
def firms(draw: st.DrawFn) -> tuple[list[Request], list[Worker]]:
    people = [draw(workers(i)) for i in range(draw(st.integers(0, 14)))]
    asked = [draw(requests(i)) for i in range(draw(st.integers(1, 5)))]
    return asked, people


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(firms(), st.sampled_from((None, 1, 3, 10)))
def test_batch_equals_single_for_random_firms(firm: tuple[list[Request], list[Worker]],
                                              top: int | None) -> None:
    asked, people = firm
    assert match_many(asked, people, top) == [match(r, people, top) for r in asked]


def test_batch_ranks_and_explains_like_a_staffing_meeting() -> None:
    feb = Span(date(2026, 2, 2), date(2026, 2, 27))
    ask = Request("RR-1", "consultant", D(20), feb, skills={"python": 3, "sql": 2},
                  city="Boston", bill_rate=D(150))
    ana = Worker("W-1", "Ana", "consultant", D("80.00"), skills={"python": 4, "sql": 2},
                 city="Boston", bookings=(Booking(D(20), feb),))
    ben = Worker("W-2", "Ben", "consultant", D(60), skills={"python": 2, "sql": 3},
                 city="Chicago", country="US")
    [ranked] = match_many([ask], [ben, ana], top=None)
    # the hand-computed scores of tests/unit/workforce/test_matcher.py
    assert [(c.name, c.score) for c in ranked] == [("Ana", D("90.8")), ("Ben", D("76.3"))]
    assert ranked[0].summary() == ("Ana: python 4/3 ✓, sql 2/2 ✓, 20 of 20 h/wk free over "
                                   "the window, cost 80 vs rate 150, same city, 50% → 100% "
                                   "(target 80%)")
