"""Issue 11, input hardening: every bad message is a 4xx or a rejected row with a reason
(never a 500, never a lost batch), bounded bodies, strict UTF-8, ids never truncated, a
corrected re-send of a rejected message applied, docs offline and behind the key, security
headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from syncline.adapters.db.tables import inbox, inbox_revisions
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app as cli
from syncline.config import Settings
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "test-key"}


def _system(tmp_path: Path) -> Syncline:
    return bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                              api_keys="test-key"), clock=fixed_clock, durable=False)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Syncline]]:
    system = _system(tmp_path)
    with TestClient(create_app(system, background=False)) as c:
        yield c, system


def _rows(system: Syncline) -> list[Any]:
    with system.engine.connect() as conn:
        return list(conn.execute(select(inbox).order_by(inbox.c.seq)))


# the fuzzer's findings: each was a 500 (or a failed insert) before
FUZZ_FOUND: dict[str, bytes] = {
    "sequence superscript two": json.dumps({**time_entry("F-1"), "sequence": "²"}).encode(),
    "sequence 10^30": json.dumps({**time_entry("F-2"), "sequence": 10**30}).encode(),
    "nested 100,000 deep": b"{\"a\":" * 100_000 + b"1" + b"}" * 100_000,
    "array nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "5,000-digit number": b'{"id": "n", "source": "s", "n": ' + b"9" * 5000 + b"}",
    "lone surrogate in subject": json.dumps({**time_entry("F-3"), "subject": "\ud800"}).encode(),
    "NUL in subject": json.dumps({**time_entry("F-4"), "subject": "a\u0000b"}).encode(),
    "NUL in data": json.dumps(time_entry("F-5", role="con\u0000sultant")).encode(),
    "NaN": json.dumps({**time_entry("F-6"), "sequence": float("nan")}).encode(),
    "id of 201 characters": json.dumps({**time_entry("F-7"), "id": "x" * 201}).encode(),
    "time 'yesterday'": json.dumps({**time_entry("F-8"), "time": "yesterday"}).encode(),
}


@pytest.mark.parametrize("name", list(FUZZ_FOUND))
def test_a_bad_message_is_422_and_kept_rejected_with_its_reason(
        client: tuple[TestClient, Syncline], name: str) -> None:
    http, system = client
    r = http.post("/v1/events", content=FUZZ_FOUND[name], headers=KEY)
    assert r.status_code == 422, r.text
    assert r.json()["status"] == "rejected" and r.json()["errors"][0]["message"]
    (row,) = _rows(system)
    assert row.status == "rejected" and row.reason
    # and through the worker nothing breaks either
    system.process()
    assert _rows(system)[0].status == "rejected"


def test_date_time_is_enforced(client: tuple[TestClient, Syncline]) -> None:
    http, _ = client
    r = http.post("/v1/events", json={**time_entry("D-1"), "time": "yesterday"}, headers=KEY)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "time"
    assert r.json()["errors"][0]["rule"] == "format"


def test_ids_are_never_truncated(client: tuple[TestClient, Syncline]) -> None:
    """Two messages whose ids share their first 200 characters are two rows, not a
    duplicate; each is rejected (id longer than 200) under its own digest key."""
    http, system = client
    base = "i" * 200
    first = http.post("/v1/events", json={**time_entry("L-1"), "id": base + "a"}, headers=KEY)
    second = http.post("/v1/events", json={**time_entry("L-2"), "id": base + "b"}, headers=KEY)
    assert first.status_code == second.status_code == 422
    assert first.json()["inbox_id"] != second.json()["inbox_id"]
    assert first.json()["errors"][0]["field"] == "id"
    assert len({r.event_id for r in _rows(system)}) == 2
    assert all(r.event_id.startswith("sha256:") for r in _rows(system))


def test_a_corrected_resend_of_a_rejected_message_is_applied(
        client: tuple[TestClient, Syncline]) -> None:
    http, system = client
    assert http.post("/v1/events", json=[deal(), worker()], headers=KEY).status_code == 202
    system.process()
    wrong = time_entry("R-1", hours="seven")
    r = http.post("/v1/events", json=wrong, headers=KEY)
    assert r.status_code == 422
    rejected_id = r.json()["inbox_id"]
    same = http.post("/v1/events", json=wrong, headers=KEY)  # the same text: a duplicate
    assert same.status_code == 200 and same.json()["status"] == "duplicate"
    fixed = {**wrong, "data": {**wrong["data"], "hours": "7"}}
    r = http.post("/v1/events", json=fixed, headers=KEY)
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "accepted", "inbox_id": rejected_id,
                        "source": wrong["source"], "id": wrong["id"]}
    system.process()
    status = http.get(f"/v1/events/{wrong['source']}/{wrong['id']}", headers=KEY).json()
    assert status["status"] == "applied"
    with system.engine.connect() as conn:
        (revision,) = conn.execute(select(inbox_revisions)).all()
    assert revision.inbox_id == rejected_id and '"seven"' in revision.raw
    open_it = http.get("/v1/exceptions", params={"domain": "it"}, headers=KEY).json()
    assert open_it == []  # the rejection's exception is resolved by the correction
    # a re-send of the accepted message stays a duplicate, even if it differs
    again = http.post("/v1/events", json={**fixed, "data": {**fixed["data"], "hours": "9"}},
                      headers=KEY)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"


def test_the_body_is_bounded(client: tuple[TestClient, Syncline],
                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    http, system = client
    big = json.dumps({**time_entry("B-1"), "pad": "x" * (6 * 1024 * 1024)}).encode()
    r = http.post("/v1/events", content=big, headers=KEY)
    assert r.status_code == 413 and "at most" in r.json()["detail"]
    assert _rows(system) == []
    monkeypatch.setenv("SYNCLINE_MAX_BODY_BYTES", "100")
    (tmp_path / "small").mkdir()
    with TestClient(create_app(_system(tmp_path / "small"), background=False)) as small:
        r = small.post("/v1/events", content=json.dumps(deal()).encode(), headers=KEY)
        assert r.status_code == 413


def test_invalid_utf8_is_refused_not_replaced(client: tuple[TestClient, Syncline]) -> None:
    http, system = client
    body = json.dumps(time_entry("U-1")).encode().replace(b"consultant", b"consult\xffnt")
    r = http.post("/v1/events", content=body, headers=KEY)
    assert r.status_code == 400 and "not UTF-8" in r.json()["detail"]
    assert "0xff" in r.json()["detail"]
    assert _rows(system) == []


def test_a_structured_body_is_stored_byte_exact(client: tuple[TestClient, Syncline]) -> None:
    http, system = client
    body = json.dumps(time_entry("E-1", role="consultant ✓"), ensure_ascii=False,
                      indent=1).encode()
    assert http.post("/v1/events", content=body, headers=KEY).status_code == 202
    assert _rows(system)[0].raw.encode() == body


def test_docs_are_offline_and_behind_the_key(client: tuple[TestClient, Syncline]) -> None:
    http, _ = client
    assert http.get("/openapi.json").status_code == 401
    spec = http.get("/openapi.json", headers=KEY)
    assert spec.status_code == 200 and "/v1/events" in spec.json()["paths"]
    page = http.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
        assert http.get(f"/docs/assets/{asset}").status_code == 200, asset
    assert http.get("/redoc").status_code == 404


def test_public_docs_when_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCLINE_PUBLIC_DOCS", "true")
    with TestClient(create_app(_system(tmp_path), background=False)) as http:
        assert http.get("/openapi.json").status_code == 200


def test_security_headers(client: tuple[TestClient, Syncline]) -> None:
    http, _ = client
    for r in (http.get("/v1/health"), http.get("/v1/contracts", headers=KEY),
              http.get("/v1/contracts"), http.post("/v1/events", content=b"\xff", headers=KEY)):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"


def test_file_ingest_keeps_every_line_of_a_batch_with_bad_ones(tmp_path: Path) -> None:
    """One bad line never aborts its batch: each is kept (applied or rejected)."""
    lines = [json.dumps(deal()).encode(), json.dumps(worker()).encode(), *FUZZ_FOUND.values(),
             b'{"id": "bad \xff utf-8", "source": "s"}', json.dumps(time_entry("T-1")).encode()]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    url = f"sqlite:///{tmp_path / 'ingest.db'}"
    done = CliRunner().invoke(cli, ["ingest", str(path), "--database-url", url, "-q",
                                    "--no-deliver"])
    assert done.exit_code == 0, done.output
    system = bootstrap(Settings(database_url=url), clock=fixed_clock, durable=False)
    rows = _rows(system)
    assert len(rows) == len(lines)
    with system.engine.connect() as conn:
        by_status = dict(conn.execute(select(inbox.c.status, func.count()).group_by(
            inbox.c.status)).all())
    assert by_status == {"applied": 3, "rejected": len(lines) - 3}


def test_query_integers_are_bounded(client: tuple[TestClient, Syncline]) -> None:
    """schemathesis found limit=-9223372036854775809 a server error (SQLite overflow)."""
    http, _ = client
    for limit in ("-9223372036854775809", "0", "10000000000000000000000"):
        r = http.get("/v1/billable-items", params={"limit": limit}, headers=KEY)
        assert r.status_code == 422, (limit, r.text)
    assert http.get("/v1/billable-items", params={"limit": 5}, headers=KEY).status_code == 200


def test_a_correction_in_the_same_batch_wins(client: tuple[TestClient, Syncline]) -> None:
    """Found by the fuzz test: a batch holding a rejected message and then its correction
    (same source and id) answers both, and the stored row is the correction, received."""
    http, system = client
    wrong = time_entry("B-2", hours="seven")
    fixed = {**wrong, "data": {**wrong["data"], "hours": "7"}}
    r = http.post("/v1/events", json=[wrong, fixed], headers=KEY)
    assert r.status_code == 207, r.text
    first, second = r.json()["results"]
    assert (first["status"], second["status"]) == ("rejected", "accepted")
    assert first["inbox_id"] == second["inbox_id"]
    (row,) = _rows(system)
    assert row.status == "received" and '"7"' in row.raw
