"""Issue 11's evidence: arbitrary bytes and JSON, and valid events with one field replaced by
anything, fed to POST /v1/events (every content mode) and to file ingest. Never a 5xx, never
an escaped exception; every input is kept (a row in the inbox, a receipt per message) or
refused before storing with a reason (4xx with a detail)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from sqlalchemy import func, select

from syncline.adapters.db.tables import inbox, inbox_receipts
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.ingest import _stream_lines, ingest_lines
from syncline.config import Settings
from tests.builders import deal, rejection, time_entry, worker
from tests.conftest import examples, fixed_clock

KEY = {"X-API-Key": "test-key"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=20)
nasty_text = st.sampled_from(["\ud800", "a\u0000b", "²", "9" * 30, "", " ", "yesterday",
                              "x" * 201, "2026-13-45T25:61:00Z", "\u202e", "NaN"])
nasty = json_values | nasty_text | st.integers(min_value=2**63, max_value=2**200)
VALID = [deal(), worker(), time_entry("T-F"), rejection("T-F")]


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with one envelope attribute or one data field replaced (or dropped)."""
    event: dict[str, Any] = json.loads(json.dumps(draw(st.sampled_from(VALID))))
    event["id"] = draw(st.text(min_size=1, max_size=12)) if draw(st.booleans()) else "f-1"
    where = event if draw(st.booleans()) else event["data"]
    key = draw(st.sampled_from(sorted(where)))
    if draw(st.integers(0, 5)) == 0:
        del where[key]
    else:
        where[key] = draw(nasty)
    return event


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(_encode),
    mutated_events().map(_encode),
    st.lists(mutated_events() | json_values, min_size=0, max_size=4).map(_encode),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(4000, 6000).map(lambda n: b'{"id":"n","source":"s","n":' + b"9" * n + b"}"),
)
content_types = st.sampled_from([None, "application/json", "application/cloudevents+json",
                                 "application/cloudevents-batch+json", "text/plain",
                                 "application/json; charset=latin-1"])
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Syncline:
    folder = tmp_path_factory.mktemp("fuzz")
    return bootstrap(Settings(database_url=f"sqlite:///{folder / 'fuzz.db'}",
                              api_keys="test-key"), clock=fixed_clock, durable=False)


@pytest.fixture(scope="module")
def http(system: Syncline) -> Iterator[TestClient]:
    with TestClient(create_app(system, background=False)) as client:
        yield client


def _count(system: Syncline, table: Any) -> int:
    with system.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _check(system: Syncline, response: Any, receipts_before: int) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    results = body["results"] if isinstance(body, dict) and "results" in body else (
        [body] if isinstance(body, dict) and "inbox_id" in body else [])
    if not results:  # refused before storing: a reason, nothing stored
        assert 400 <= response.status_code < 500 and body["detail"], body
        assert _count(system, inbox_receipts) == receipts_before
        return
    assert _count(system, inbox_receipts) == receipts_before + len(results)
    ids = [r["inbox_id"] for r in results]
    with system.engine.connect() as conn:
        found = {r.id: r for r in conn.execute(select(inbox.c.id, inbox.c.status, inbox.c.reason)
                                               .where(inbox.c.id.in_(ids)))}
    last = {r["inbox_id"]: r for r in results}  # a later correction of the same id wins
    for result in last.values():
        row = found[result["inbox_id"]]
        if result["status"] == "rejected":
            assert row.status == "rejected" and row.reason and result["errors"]


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow,
                                                              HealthCheck.data_too_large])
@given(body=bodies, content_type=content_types)
def test_http_structured_and_batched(http: TestClient, system: Syncline, body: bytes,
                                     content_type: str | None) -> None:
    headers = dict(KEY)
    if content_type:
        headers["content-type"] = content_type
    before = _count(system, inbox_receipts)
    _check(system, http.post("/v1/events", content=body, headers=headers), before)


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=200) | json_values.map(_encode),
       attributes=st.dictionaries(st.sampled_from(["id", "source", "type", "subject", "time",
                                                   "sequence", "correlationid", "x"]),
                                  header_text, max_size=8),
       content_type=content_types)
def test_http_binary_mode(http: TestClient, system: Syncline, body: bytes,
                          attributes: dict[str, str], content_type: str | None) -> None:
    headers = {**KEY, "ce-specversion": "1.0", **{f"ce-{k}": v for k, v in attributes.items()}}
    if content_type:
        headers["content-type"] = content_type
    before = _count(system, inbox_receipts)
    _check(system, http.post("/v1/events", content=body, headers=headers), before)


def test_the_worker_applies_whatever_was_kept(http: TestClient, system: Syncline) -> None:
    """After the fuzzing above, applying every stored message raises nothing."""
    system.process()


lines = st.lists(st.one_of(st.binary(max_size=200), mutated_events().map(_encode),
                           json_values.map(_encode)), min_size=1, max_size=8)


@settings(max_examples=examples(40), suppress_health_check=[HealthCheck.too_slow])
@given(batch=lines)
def test_file_ingest(system: Syncline, batch: list[bytes]) -> None:
    stream = b"\n".join(line.replace(b"\n", b" ").replace(b"\r", b" ") for line in batch)
    read = [0]
    parsed = list(_stream_lines(io.BytesIO(stream), read))
    before = _count(system, inbox_receipts)
    ingest_lines(system, parsed, Console(file=io.StringIO()), True)
    assert _count(system, inbox_receipts) == before + len(parsed)


def test_fuzz_database_is_a_file(system: Syncline) -> None:
    assert Path(system.settings.database_url.removeprefix("sqlite:///")).exists()
