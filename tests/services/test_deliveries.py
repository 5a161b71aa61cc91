"""Delivery status per document and the dead letters' actions (issue 13): a refused
delivery is a dead letter with one exception; retry (same idempotency key) and skip are
finance/admin actions, audited, closing the exception; a vendor's reference lands in the
delivery and in the cross-reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from syncline.adapters.db.tables import xref
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.connectors.sandbox import sandbox_targets
from syncline.services.governance import audit
from syncline.services.governance.keys import create_key
from syncline.services.messaging import deliveries as d
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal
from tests.conftest import fixed_clock
from tests.fakes import RefusingErp


@pytest.fixture
def firm(tmp_path: Path) -> Iterator[tuple[Syncline, RefusingErp]]:
    vendor = RefusingErp()
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}"),
                       clock=fixed_clock, durable=False)
    system.targets = {**sandbox_targets(system.engine), "erp": vendor}
    with system.engine.begin() as conn:
        receive_many(conn, [deal()], now=fixed_clock())
    system.process()
    yield system, vendor
    system.engine.dispose()


def test_a_dead_letter_is_retried_with_its_key_and_audited(
        firm: tuple[Syncline, RefusingErp]) -> None:
    system, vendor = firm
    system.deliver()
    with system.engine.connect() as conn:
        [dead] = d.deliveries(conn, status="failed")
        [exc] = [e for e in list_exceptions(conn) if e.code == "delivery.failed"]
    assert dead.kind == "erp.customer.upsert" and "inactive" in (dead.last_error or "")
    assert f"deliveries retry {dead.id}" in exc.remediation
    vendor.refusing = False
    with system.engine.begin() as conn:
        again = d.retry(conn, dead.id, actor="finance.fay", reason="subsidiary activated",
                        now=fixed_clock())
    assert again.status == "pending" and again.attempts == 0
    system.deliver()
    with system.engine.connect() as conn:
        done = d.delivery(conn, dead.id)
        assert done is not None and done.status == "delivered" and done.reference == "V-1"
        assert vendor.received == [dead.id]  # the same idempotency key
        link = conn.execute(select(xref).where(xref.c.system == "erp:acme-erp")).one()
        assert (link.object_type, link.external_id) == ("customer", "V-1")
        assert link.syncline_id == done.document and done.document.startswith("cus_")
        assert not [e for e in list_exceptions(conn) if e.code == "delivery.failed"]
        [row] = [e for e in audit.entries(conn) if e["action"] == "delivery.retry"]
    assert row["actor"] == "finance.fay" and row["reason"] == "subsidiary activated"


def test_skip_needs_a_reason_and_only_dead_letters_are_acted_on(
        firm: tuple[Syncline, RefusingErp]) -> None:
    system, _ = firm
    system.deliver()
    with system.engine.connect() as conn:
        [dead] = d.deliveries(conn, status="failed")
        delivered = d.deliveries(conn, status="compensated") or d.deliveries(
            conn, status="delivered")
    with system.engine.begin() as conn, pytest.raises(d.DeliveryRefused, match="reason"):
        d.skip(conn, dead.id, actor="finance.fay", reason=" ", now=fixed_clock())
    if delivered:
        with system.engine.begin() as conn, pytest.raises(d.DeliveryRefused,
                                                          match="only a failed"):
            d.retry(conn, delivered[0].id, actor="x", reason="y", now=fixed_clock())
    with system.engine.begin() as conn:
        skipped = d.skip(conn, dead.id, actor="finance.fay", reason="posted by hand",
                         now=fixed_clock())
    assert skipped.status == "skipped" and "posted by hand" in (skipped.last_error or "")


def test_the_api_reads_deliveries_and_only_finance_or_admin_act(
        firm: tuple[Syncline, RefusingErp]) -> None:
    system, _ = firm
    system.deliver()
    with system.engine.begin() as conn:
        keys = {role: create_key(conn, f"k-{role}", [role], by="setup", now=fixed_clock())[0]
                for role in ("integration", "finance")}
        [dead] = d.deliveries(conn, status="failed")
    with TestClient(create_app(system, background=False)) as http:
        listed = http.get("/v1/deliveries", params={"status": "failed"},
                          headers={"X-API-Key": keys["integration"]})
        assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [dead.id]
        by_doc = http.get("/v1/deliveries", params={"document": dead.document},
                          headers={"X-API-Key": keys["integration"]}).json()
        assert [r["id"] for r in by_doc] == [dead.id]
        denied = http.post(f"/v1/deliveries/{dead.id}/skip", json={"reason": "no"},
                           headers={"X-API-Key": keys["integration"]})
        assert denied.status_code == 403
        done = http.post(f"/v1/deliveries/{dead.id}/skip", json={"reason": "by hand"},
                         headers={"X-API-Key": keys["finance"]})
        assert done.status_code == 200 and done.json()["status"] == "skipped"
        again = http.post(f"/v1/deliveries/{dead.id}/retry", json={"reason": "oops"},
                          headers={"X-API-Key": keys["finance"]})
        assert again.status_code == 409


def test_the_reference_and_its_xref_are_kept_with_the_delivered_mark(
        firm: tuple[Syncline, RefusingErp]) -> None:
    """``send`` only sends (and counts the attempt); the vendor's reference, its
    cross-reference link and the delivered status are written by ``mark_delivered`` in one
    transaction (one commit), with the reference the send returned."""
    from sqlalchemy import event

    from syncline.adapters.db.tables import outbox
    from syncline.services.messaging import delivery

    system, vendor = firm
    vendor.refusing = False
    with system.engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.kind == "erp.customer.upsert")).one()
    reference = delivery.send(system.engine, system.targets, row.id)
    assert reference == "V-1"
    with system.engine.connect() as conn:
        sent = d.delivery(conn, row.id)
        assert sent is not None and (sent.reference, sent.attempts) == (None, 1)
        assert conn.execute(select(xref).where(xref.c.system == "erp:acme-erp")).all() == []
    commits: list[int] = []

    def count(conn: Any) -> None:
        commits.append(1)

    event.listen(system.engine, "commit", count)
    delivery.mark_delivered(system.engine, row.id, fixed_clock, reference, system.targets)
    event.remove(system.engine, "commit", count)
    assert len(commits) == 1
    with system.engine.connect() as conn:
        done = d.delivery(conn, row.id)
        assert done is not None and (done.status, done.reference) == ("delivered", "V-1")
        link = conn.execute(select(xref).where(xref.c.system == "erp:acme-erp")).one()
        assert (link.object_type, link.external_id, link.syncline_id) == (
            "customer", "V-1", done.document)


def _reference_counts(conn: Any) -> list[d.TargetCount]:
    """The outbox counted by decoding every payload (what ``counts`` did before it let the
    database read the entity): the reference it must equal."""
    import json

    from syncline.adapters.db.tables import outbox

    found: dict[tuple[str, str | None, str], int] = {}
    for r in conn.execute(select(outbox.c.target, outbox.c.status, outbox.c.payload)):
        payload = json.loads(r.payload)
        entity = payload.get("entity") or payload.get("legal_entity")
        key = (str(r.target), str(entity) if entity else None, str(r.status))
        found[key] = found.get(key, 0) + 1
    return [d.TargetCount(t, e, s, n) for (t, e, s), n in sorted(
        found.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2]))]


_PAYLOADS = [{"entity": "US01"}, {"legal_entity": "GB01"}, {"entity": "", "legal_entity": "DE01"},
             {"entity": "US01", "legal_entity": "GB01"}, {}, {"entity": None},
             {"entity": "FR01", "lines": [{"entity": "nested"}]}, {"entity": "ünï"}]


def _fill_outbox(engine: Any) -> None:
    from syncline.adapters.db.tables import outbox
    from syncline.services.messaging.outbox import outbox_row

    rows = []
    for i, payload in enumerate(_PAYLOADS * 3):
        row = outbox_row(i + 1, "erp.invoice", ("erp", "crm", "psa")[i % 3], payload,
                         correlation_id=None, now=fixed_clock())
        row["status"] = ("pending", "delivered", "failed")[(i // 3) % 3]
        rows.append(row)
    with engine.begin() as conn:
        conn.execute(outbox.insert(), rows)


def test_counts_read_the_entity_as_decoding_every_payload_would(tmp_path: Path) -> None:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}"),
                       clock=fixed_clock, durable=False)
    _fill_outbox(system.engine)
    with system.engine.connect() as conn:
        got = d.counts(conn)
        assert got == _reference_counts(conn)
    assert {c.entity for c in got} == {"US01", "GB01", "DE01", "FR01", "ünï", None}


def test_counts_on_postgresql_equal_the_reference() -> None:
    from syncline.adapters.db.scratch import throwaway_database
    from tests.conftest import pg_admin

    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_counts") as url:
            system = bootstrap(Settings(database_url=url), clock=fixed_clock, durable=False)
            _fill_outbox(system.engine)
            with system.engine.connect() as conn:
                assert d.counts(conn) == _reference_counts(conn)
            system.engine.dispose()
    finally:
        admin.dispose()
