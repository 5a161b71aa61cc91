"""Traces: one deal's flow — received, applied, its provisioning delivered to the ERP and the
PSA — is one trace (the trace id derived from its correlation id ``deal/D-1``): the spans come
in the order receive → apply → deliver, each delivery with its target call as a child."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from syncline.bootstrap import Syncline
from syncline.services.telemetry import traces
from tests.builders import deal, time_entry, worker
from tests.services.test_billing_wiring import ingest


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    traces.configure(exporter, batch=False)
    yield exporter
    traces.reset()


def of_trace(exporter: InMemorySpanExporter, correlation: str) -> list[ReadableSpan]:
    trace_id, _ = traces.trace_ids(correlation)
    found = [s for s in exporter.get_finished_spans()
             if s.context is not None and s.context.trace_id == trace_id]
    return sorted(found, key=lambda s: (s.start_time or 0, s.name))


def test_one_deal_is_one_trace_in_order(system: Syncline,
                                        spans: InMemorySpanExporter) -> None:
    won = deal()
    ingest(system, won, worker(), time_entry("T-1"))
    system.deliver()
    flow = of_trace(spans, "deal/D-1")
    names = [s.name for s in flow]
    assert names[:2] == ["syncline.receive", "syncline.apply"]
    assert names[2:] == ["syncline.deliver", "syncline.target"] * 4  # ERP, PSA ×2, CRM
    assert [s.attributes["syncline.event_id"] for s in flow[:2]] == [won["id"]] * 2
    assert flow[0].attributes["syncline.type"] == flow[1].attributes["syncline.type"] == \
        "deal.closed_won"
    starts = [s.start_time or 0 for s in flow]
    assert starts == sorted(starts)
    _, root_span = traces.trace_ids("deal/D-1")
    for deliver, target in zip(flow[2::2], flow[3::2], strict=True):
        assert deliver.parent is not None and deliver.parent.span_id == root_span
        assert target.parent is not None and deliver.context is not None
        assert target.parent.span_id == deliver.context.span_id
        assert target.attributes["syncline.kind"] == deliver.attributes["syncline.kind"]
    kinds = [s.attributes["syncline.kind"] for s in flow[2::2]]
    assert kinds == ["erp.customer.upsert", "psa.project.provision", "psa.budget.update",
                     "crm.status.update"]
    # the time entry is its own flow (correlation time/T-1): received and applied
    assert [s.name for s in of_trace(spans, "time/T-1")] == ["syncline.receive",
                                                              "syncline.apply"]


def test_unconfigured_no_span_is_made(system: Syncline) -> None:
    assert not traces.enabled()
    ingest(system, deal())  # runs through the no-op path


def test_the_exporter_is_the_console_unless_otlp_is_set_and_installed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    monkeypatch.delenv(traces.ENDPOINT_ENV, raising=False)
    assert isinstance(traces._exporter_from_env(), ConsoleSpanExporter)
    monkeypatch.setenv(traces.ENDPOINT_ENV, "http://collector:4318/v1/traces")
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
    except ImportError:  # not installed here: still the console
        assert isinstance(traces._exporter_from_env(), ConsoleSpanExporter)
    else:
        assert type(traces._exporter_from_env()).__name__ == "OTLPSpanExporter"


def test_traces_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(traces.TRACES_ENV, "off")
    assert traces.configure() is None and not traces.enabled()
