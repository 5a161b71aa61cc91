"""Whatever is in a file, reading it never raises: every row is an event or a refusal."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncline.services.messaging.inbox import Refusal

from .conftest import TIME_HEADER, TIME_MAPPING, make, read_all, write

cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["E1", "W-1", "acme", "01/06/2026", "31/02/2026", "7,5", "1.234,5", "",
                     " ", '"', ",", "\n", "\r\n", "\x00", "\ufeff", "é"]),
)
rows = st.lists(st.lists(cells, max_size=7), max_size=12)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows)
def test_every_row_is_an_event_or_a_refusal(rows: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        write(Path(tmp), "in/t.csv", TIME_HEADER + out.getvalue())
        events, refusals, cursors = read_all(make(Path(tmp), TIME_MAPPING))
    assert all(isinstance(r, Refusal) and r.reason.startswith("t.csv row ") for r in refusals)
    assert all(isinstance(e, dict) and e["type"] == "time.approved" for e in events)
    written = [r for r in rows if any(c.strip() for c in r)]  # blank lines are skipped
    assert len(events) + len(refusals) == len(written)
    assert cursors[-1] is not None  # the file is recorded, whatever it held


@settings(max_examples=150)
@given(body=st.binary(max_size=400), suffix=st.sampled_from(["csv", "jsonl", "json",
                                                             "xlsx"]))
def test_arbitrary_bytes_never_raise_out_of_the_stream(body: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp), f"in/t.{suffix}", body)
        _, refusals, cursors = read_all(make(Path(tmp), TIME_MAPPING,
                                                  path=f"in/*.{suffix}"))
    assert all(isinstance(r, Refusal) for r in refusals)
    assert cursors and cursors[-1] is not None


@settings(max_examples=60)
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes_after_a_good_header(body: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp), "in/t.csv", TIME_HEADER.encode() + body)
        _, refusals, _ = read_all(make(Path(tmp), TIME_MAPPING))
    assert all(r.reason.startswith("t.csv") for r in refusals)
