"""Property: the lean path of approved time (`handlers/time_lean.LeanTime`) decides what
`time.decide_time` (the reference) decides — the same outcome, time row (its generated id
aside) and billable item row — for generated entries of every kind (T&M with a contract rate,
a customer card with a quarter-hour increment and its next version with
a half-hour one, the reference defaults; fixed fee; closed
projects; terminated, unknown workers; non-billable and unknown tasks; unpriced roles; hours
out of bounds or with three decimals; not approved; with dimensions; projects that wait for
their activation), and leaves to the reference only what is not its common case."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from syncline.adapters.db.tables import workers
from syncline.bootstrap import Syncline
from syncline.services.handlers import time_words
from syncline.services.handlers.common import item_row
from syncline.services.handlers.time import decide_time
from syncline.services.handlers.time_lean import LeanTime
from syncline.services.messaging.outcomes import Applied
from syncline.services.messaging.unit import Unit
from tests.builders import deal, event, worker
from tests.conftest import fixed_clock
from tests.property.lean_support import mostly, processed_firm
from tests.services.test_rate_cards_close_fx import project_closed, rate_card


def _terminated(worker_id: str, day: str) -> dict[str, Any]:
    return event("worker.terminated", f"worker/{worker_id}",
                 {"worker_id": worker_id, "termination_date": day},
                 source="hris/workday", sequence=3)


FIRM = [
    deal("D-1", number="C-1", project="P-1"),  # its own consultant rate
    deal("D-2", number="C-2", project="P-2", rates=[]),  # the customer's card, the defaults
    deal("D-3", number="C-3", project="P-3", billing_type="fixed_fee", amount="50000"),
    deal("D-4", number="C-4", project="P-4"), project_closed("P-4", "2026-01-15"),
    rate_card("CARD-D2", 1, {"manager": "260.00", "analyst": "120.00"}, scope="customer",
              key="ACC-D-2", increment="0.25", rounding="up"),
    rate_card("CARD-D2", 2, {"manager": "275.00", "analyst": "120.00"}, scope="customer",
              key="ACC-D-2", start="2026-01-16", increment="0.5", rounding="half_up"),
    worker("W-1"), worker("W-2", role="manager"), _terminated("W-2", "2026-01-20"),
]


@pytest.fixture(scope="module")
def firm() -> Iterator[Syncline]:
    yield from processed_firm(FIRM)


entries = st.fixed_dictionaries({
    "time_entry_id": st.sampled_from(["T-1", "T-2", "TE 3"]),
    "worker_id": mostly(["W-1", "W-2"], ["W-9"]),
    "project_code": mostly(["P-1", "P-2"], ["P-3", "P-4", "P-404"]),
    "task_code": mostly(["1", "3"], ["9", "77"]),
    "work_date": mostly(["2026-01-05", "2026-01-15"], ["2026-01-16", "2026-01-21",
                                                        "2026-02-28"]),
    "hours": mostly(["8", "7.5", "0.1", "1.13"], ["24", "8.00", "0", "25", "-1", "1.125",
                                                   "0.01"]),
    "role": mostly(["consultant", "manager"], ["analyst", "partner", "sculptor", ""]),
    "approval_status": mostly(["approved"], ["submitted"]),
}, optional={
    "billable": st.booleans(),
    "dimensions": st.sampled_from([{}, {"cost_center": "CC-100"}, {"cost_center": "CC-0"}]),
})


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(entries, min_size=1, max_size=30), st.booleans())
def test_the_lean_path_decides_what_the_reference_decides(
        firm: Syncline, drawn: list[dict[str, Any]], activation: bool) -> None:
    ref = dataclasses.replace(firm.ref, activation_required=activation)
    with firm.engine.connect() as conn:
        known = {r.worker_id: r for r in conn.execute(select(workers))}
        b = Unit(conn=conn, ref=ref, now=fixed_clock())
        lean = LeanTime(b)  # one set: its memos carried from entry to entry
        for n, data in enumerate(drawn):
            b.inbox_id = f"in-{n}"
            worker_row = known.get(data["worker_id"])
            reference = decide_time(b, data, worker_row, False)
            fast = lean.decide(data, worker_row, f"tim_{n}")
            common = (isinstance(reference.outcome, Applied) and reference.time_row is not None
                      and not data.get("dimensions"))
            assert (fast is not None) == common, (data, reference.outcome)
            if fast is None:
                continue
            outcome, time_row, item = fast
            assert outcome == reference.outcome
            assert time_row == {**reference.time_row, "id": f"tim_{n}"}
            assert list(time_row) == list(reference.time_row)  # (the columns' order too)
            expected = None if reference.item is None else item_row(reference.item)
            assert item == expected
            assert item is None or list(item) == list(expected or ())


def test_the_cases_are_met(firm: Syncline) -> None:
    """The generated entries meet priced and unpriced, rounded and not, activation and not."""
    with firm.engine.connect() as conn:
        known = {r.worker_id: r for r in conn.execute(select(workers))}
        b = Unit(conn=conn, ref=firm.ref, now=fixed_clock())
        lean = LeanTime(b)

        def fast(**kw: str) -> Any:
            data = {"time_entry_id": "T-1", "worker_id": "W-1", "project_code": "P-1",
                    "task_code": "1", "work_date": "2026-01-05", "hours": "8",
                    "role": "consultant", "approval_status": "approved", **kw}
            return lean.decide(data, known.get(data["worker_id"]), "tim_1")

        assert fast()[2]["amount"] == fast()[2]["unit_price"] * 8
        assert fast(project_code="P-2", role="manager", hours="1.13")[2]["quantity"] == 1.25
        later = fast(project_code="P-2", role="manager", hours="1.13", work_date="2026-01-21")
        assert (later[2]["quantity"], later[2]["unit_price"]) == (1, 275)
        assert fast(project_code="P-2", role="partner")[2]["rate_card"] == "reference:USD v1"
        assert fast(project_code="P-3")[2] is None  # fixed fee: no item
        assert fast(task_code="9")[1]["billable"] is False
        assert fast(project_code="P-4", work_date="2026-01-16") is None  # closed by then
        assert fast(role="sculptor", project_code="P-2") is None  # no rate: the reference
        b.ref = dataclasses.replace(firm.ref, activation_required=True)
        assert fast() is None


values = st.none() | st.text(max_size=220) | st.integers() | st.sampled_from(
    ["2026-01-05", "8.25", "T-1", "x" * 250])
approvals = st.dictionaries(st.sampled_from(["time_entry_id", "work_date", "project_code",
                                             "hours", "role"]), values)


def _word_as_specified(inbox_id: str, kind: str, data: dict[str, Any]
                       ) -> tuple[Any, ...] | None:
    """The PSA's word written plainly (the rule the fast path keeps): each value's ``str``
    cut to its column; no time entry (or, for an approval, no work date): no word."""
    try:
        entry = str(data["time_entry_id"])
        work_date = str(data["work_date"]) if kind == time_words.APPROVED else None
    except KeyError:
        return None
    approved = kind == time_words.APPROVED
    project = data.get("project_code") if approved else None
    hours = data.get("hours") if approved else None
    return (inbox_id, entry[:200], kind, None if work_date is None else work_date[:10],
            None if project is None else str(project)[:100],
            None if hours is None else str(hours)[:40])


@settings(max_examples=300, deadline=None)
@given(approvals, st.sampled_from([time_words.APPROVED, time_words.REJECTED]))
def test_a_word_is_each_values_text_cut_to_its_column(data: dict[str, Any], kind: str) -> None:
    """(`time_words.word` takes a string as it is, for speed: the same as the plain rule
    for text and other values, approvals and rejections.)"""
    assert time_words.word("in-1", kind, data) == _word_as_specified("in-1", kind, data)
