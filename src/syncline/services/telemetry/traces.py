"""OpenTelemetry traces across receive → apply → outbox delivery → target.

The stages run in different transactions and often different processes (the API receives,
a worker applies, the delivery workflow sends), and no trace context is stored with a
message. What links them is the **correlation id** every inbox and outbox row carries: a
message's trace id is derived from it (the first 16 bytes of SHA-256 of
``"syncline:" + correlation id``), and each stage's span is a child of one synthetic remote
root with that trace id (its span id: the next 8 bytes). So every span of one business flow
— ``syncline.receive`` and ``syncline.apply`` per message, ``syncline.deliver`` per outbox
send with its ``syncline.target`` call as a child — has the same trace id, in time order. A
row without a correlation id gets its own trace (``inbox/<id>``, ``outbox/<id>``).

A caller's trace is continued where the caller sends one: a W3C ``traceparent`` header on
``POST /v1/events`` or on a broker message (NATS, RabbitMQ, Kafka) makes that message's
``syncline.receive`` span a child of the caller's span (``from_headers``, then ``record``'s
``parent``), so the caller's trace shows Syncline receiving its message; that span links to
the correlation's root, where the message's apply and delivery spans are (no trace context is
stored with a message). The parent is given per message, so messages of different callers,
or with none, are still stored together in one transaction.

``configure()`` (serve, worker) installs a tracer provider when asked (``SYNCLINE_TRACES=console``,
or an OTLP endpoint); the console exporter unless the endpoint is set;
the OTLP exporter when ``opentelemetry-exporter-otlp`` is installed and
``SYNCLINE_OTLP_ENDPOINT`` is set; ``SYNCLINE_TRACES=off`` turns tracing off. Until then
spans go nowhere (a no-op tracer), at no cost. Tests pass an in-memory exporter.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_state: dict[str, Any] = {"provider": None}
_W3C = TraceContextTextMapPropagator()
ENDPOINT_ENV = "SYNCLINE_OTLP_ENDPOINT"
TRACES_ENV = "SYNCLINE_TRACES"


def _exporter_from_env() -> SpanExporter:
    endpoint = os.environ.get(ENDPOINT_ENV)
    if endpoint:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore
                OTLPSpanExporter,
            )
        except ImportError:  # the OTLP exporter is optional: console instead
            return ConsoleSpanExporter(out=sys.stderr)
        return OTLPSpanExporter(endpoint=endpoint)  # type: ignore[no-any-return]
    # standard error: `worker --once` answers JSON on standard output
    return ConsoleSpanExporter(out=sys.stderr)


def configure(exporter: SpanExporter | None = None, *, batch: bool = True
              ) -> TracerProvider | None:
    """Install Syncline's tracer provider (``exporter``, else console or OTLP by setting).
    Off unless asked for: ``SYNCLINE_TRACES=console`` (spans on standard error) or
    ``SYNCLINE_OTLP_ENDPOINT`` set — a span a message on standard error by default would
    flood a worker's log (and block a worker whose error stream nobody reads)."""
    wanted = os.environ.get(TRACES_ENV, "").lower()
    if exporter is None and (wanted == "off" or (
            wanted not in ("console", "otlp", "on") and not os.environ.get(ENDPOINT_ENV))):
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": "syncline"}))
    chosen = exporter or _exporter_from_env()
    provider.add_span_processor(BatchSpanProcessor(chosen) if batch
                                else SimpleSpanProcessor(chosen))
    _state["provider"] = provider
    return provider


def reset() -> None:
    provider = _state["provider"]
    if provider is not None:
        provider.shutdown()
    _state["provider"] = None


def enabled() -> bool:
    return _state["provider"] is not None


def _tracer() -> trace.Tracer:
    provider = _state["provider"]
    return provider.get_tracer("syncline") if provider is not None else trace.NoOpTracer()


def trace_ids(correlation_id: str) -> tuple[int, int]:
    """(trace id, root span id) of a correlation id: stable across processes."""
    digest = hashlib.sha256(f"syncline:{correlation_id}".encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


def root(correlation_id: str) -> Context:
    """The context whose (remote) parent is the correlation's synthetic root span."""
    trace_id, span_id = trace_ids(correlation_id)
    parent = SpanContext(trace_id, span_id, is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(parent))


def _attrs(values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"syncline.{k}": v for k, v in values.items() if v is not None}


@contextmanager
def stage(name: str, correlation_id: str, **attributes: Any) -> Iterator[None]:
    """A span for one stage of the correlation's flow (current while the block runs)."""
    if not enabled():
        yield
        return
    with _tracer().start_as_current_span(name, context=root(correlation_id),
                                         attributes=_attrs(attributes)):
        yield


@contextmanager
def child(name: str, **attributes: Any) -> Iterator[None]:
    """A span inside the current one (the target call inside a delivery)."""
    if not enabled():
        yield
        return
    with _tracer().start_as_current_span(name, attributes=_attrs(attributes)):
        yield


def from_headers(headers: Mapping[str, str]) -> Context | None:
    """The caller's span context of a W3C ``traceparent`` (and ``tracestate``) header, when
    tracing is on and the header is valid; else None (a bad header is ignored, as the
    Trace Context recommendation says)."""
    if not enabled():
        return None
    carrier = {k.lower(): v for k, v in headers.items()
               if k.lower() in ("traceparent", "tracestate")}
    if "traceparent" not in carrier:
        return None
    parent = _W3C.extract(carrier)
    if not trace.get_current_span(parent).get_span_context().is_valid:
        return None
    return parent


def record(name: str, correlation_id: str, start_ns: int, end_ns: int | None = None, *,
           parent: Context | None = None, **attributes: Any) -> None:
    """A finished span for a stage done in bulk (a batch received, a set of messages
    applied together): one per message, the batch's start and end. With ``parent`` — the
    message's caller's span (``from_headers``) — the span is the caller's child, linked to
    the correlation's root; without, the root's child."""
    if not enabled():
        return
    if parent is None:
        context, links = root(correlation_id), None
    else:
        trace_id, span_id = trace_ids(correlation_id)
        context, links = parent, [Link(SpanContext(trace_id, span_id, is_remote=True,
                                                   trace_flags=TraceFlags(TraceFlags.SAMPLED)))]
    span = _tracer().start_span(name, context=context, start_time=start_ns,
                                attributes=_attrs(attributes), links=links)
    span.end(end_time=end_ns or time.time_ns())


def now_ns() -> int:
    return time.time_ns()


def key(correlation_id: str | None, kind: str, ident: str) -> str:
    """The correlation a row's spans go under: its correlation id, else its own id."""
    return correlation_id or f"{kind}/{ident}"
