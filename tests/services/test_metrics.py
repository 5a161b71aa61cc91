"""``GET /metrics`` parsed with prometheus_client's parser: the technical series and the
current month's KPIs of the small firm of test_kpis (figures by hand there; the clock's month
is 2026-07):

- inbox: 8 applied, 1 parked (T-X, which became a PMO exception); 1 PMO + 1 billing open;
- outbox: 3 provisioning steps per deal × 2 + 2 CRM status updates + 2 invoices, delivered;
- setup cycle 2026-07: median 190.13, p90 194.13 days; straight-through 0.8889;
- unbilled approved time at 07-31: T-3 400.00; unrecognized milestones: M-2 6,000.00;
- open exceptions at now: US01 billing 31+ (176 days), '*' PMO 0-1;
- DSO: nothing invoiced May..July, so no sample (not a zero).
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from syncline.api.app import create_app
from syncline.bootstrap import Syncline
from syncline.services.governance.keys import create_key
from syncline.services.telemetry.metrics import PROCESS
from tests.services.test_kpis import small_firm


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[Any, float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def test_metrics_expose_queues_latency_deliveries_and_kpis(system: Syncline) -> None:
    delivered_before = PROCESS.get_sample_value(
        "syncline_delivery_attempts_total", {"target": "psa", "result": "delivered"}) or 0
    applied_before = PROCESS.get_sample_value(
        "syncline_messages_processed_total", {"type": "time.approved",
                                              "outcome": "applied"}) or 0
    lag_before = PROCESS.get_sample_value("syncline_apply_lag_seconds_count",
                                          {"type": "time.approved"}) or 0
    small_firm(system)
    with system.engine.begin() as conn:
        key = create_key(conn, "k-auditor", ["auditor"], by="setup", now=system.clock())[0]
    with TestClient(create_app(system, background=False)) as http:
        assert http.get("/metrics").status_code == 401
        answer = http.get("/metrics", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(answer.text)

    assert value(found, "syncline_inbox_messages", status="applied") == 8
    assert value(found, "syncline_inbox_messages", status="parked") == 1
    assert value(found, "syncline_outbox_rows", status="delivered") == 10
    assert value(found, "syncline_outbox_pending") == 0
    assert value(found, "syncline_exceptions_open", domain="billing") == 1
    assert value(found, "syncline_exceptions_open", domain="pmo") == 1
    # the processor's and the deliveries' instruments (process-wide: counted from before)
    assert value(found, "syncline_messages_processed_total", type="time.approved",
                 outcome="applied") == applied_before + 3
    assert value(found, "syncline_apply_lag_seconds_count",
                 type="time.approved") == lag_before + 3
    assert value(found, "syncline_delivery_attempts_total", target="psa",
                 result="delivered") == delivered_before + 4
    assert ("syncline_apply_batch_seconds_count", frozenset()) in found
    # the KPIs of 2026-07 by entity
    assert value(found, "syncline_kpi_setup_cycle_days", entity="US01",
                 stat="median") == 190.13
    assert value(found, "syncline_kpi_setup_cycle_days", entity="US01", stat="p90") == 194.13
    assert value(found, "syncline_kpi_straight_through_share", entity="*") == 0.8889
    assert value(found, "syncline_kpi_unbilled_approved_time", entity="US01",
                 currency="USD") == 400.0
    assert value(found, "syncline_kpi_unrecognized_milestones", entity="US01",
                 currency="USD") == 6000.0
    assert value(found, "syncline_kpi_open_exceptions", entity="US01", domain="billing",
                 age="31+") == 1
    assert value(found, "syncline_kpi_open_exceptions", entity="*", domain="pmo",
                 age="0-1") == 1
    assert value(found, "syncline_kpi_dso_days", entity="US01", currency="USD") is None


def test_the_kpis_are_computed_at_most_once_a_minute(system: Syncline,
                                                     monkeypatch: Any) -> None:
    from syncline.services.telemetry import scrape

    calls: list[str] = []
    real = scrape.compute_kpis

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append("kpis")
        return real(*args, **kw)

    monkeypatch.setattr(scrape, "compute_kpis", counted)
    monkeypatch.setattr(scrape, "_kpi_cache", {})
    scrape.exposition(system.engine, system.clock())
    scrape.exposition(system.engine, system.clock())
    assert calls == ["kpis"]
    monkeypatch.setattr(scrape, "KPI_SECONDS", 0.0)
    scrape.exposition(system.engine, system.clock())
    assert calls == ["kpis", "kpis"]
