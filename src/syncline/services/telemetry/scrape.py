"""What ``GET /metrics`` answers: the process's instruments (``metrics.PROCESS``) and, read at
each scrape from the database, the queue depths and the current month's KPIs as gauges by
legal entity (Prometheus text format, version 0.0.4).

Technical series: ``syncline_inbox_messages{status}``, ``syncline_inbox_receipts``,
``syncline_parked_waiting``, ``syncline_outbox_rows{status}`` (``failed`` is the dead
letters), ``syncline_outbox_pending`` (not delivered), ``syncline_exceptions_open{domain}``.

KPI gauges (services/kpis, month = the clock's current month; Prometheus values are floats,
so the decimal figures are converted only here): ``syncline_kpi_setup_cycle_days{entity,
stat}``, ``syncline_kpi_time_to_invoice_days{entity,stat}`` (stat = median | p90 | max),
``syncline_kpi_unbilled_approved_time{entity,currency}``,
``syncline_kpi_billing_exception_rate{entity}``,
``syncline_kpi_unrecognized_milestones{entity,currency}`` (amount) and
``syncline_kpi_unrecognized_milestones_count{entity,currency}``,
``syncline_kpi_open_exceptions{entity,domain,age}``,
``syncline_kpi_amendments_awaiting{entity,why}`` (why = undelivered | not_applied),
``syncline_kpi_straight_through_share{entity}``, ``syncline_kpi_dso_days{entity,currency}``.
A statistic with nothing to measure has no sample (not a zero). The KPIs read whole tables,
so they are computed at most once a minute per database (``KPI_SECONDS``); the queue depths
at every scrape.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from syncline.services.kpis import compute_kpis
from syncline.services.kpis.formulas import AGE_BUCKETS
from syncline.services.messaging.queues import queue_depths
from syncline.services.telemetry.metrics import PROCESS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
KPI_SECONDS = 60.0
_kpi_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}


def _gauge(name: str, doc: str, labels: list[str], samples: Iterable[tuple[list[str], Any]]
           ) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        if value is not None:
            family.add_metric(values, float(value))
    return family


def state_families(depths: dict[str, Any]) -> list[Metric]:
    return [
        _gauge("syncline_inbox_messages", "Inbox messages by status", ["status"],
               ([[s], n] for s, n in sorted(depths["inbox"].items()))),
        _gauge("syncline_inbox_receipts", "Deliveries received (duplicates included)", [],
               [([], depths["deliveries"])]),
        _gauge("syncline_parked_waiting", "Messages parked on a prerequisite", [],
               [([], depths["parked_waiting"])]),
        _gauge("syncline_outbox_rows", "Outbox rows by status", ["status"],
               ([[s], n] for s, n in sorted(depths["outbox"].items()))),
        _gauge("syncline_outbox_pending", "Outbox rows not delivered", [],
               [([], depths["outbox_pending"])]),
        _gauge("syncline_exceptions_open", "Open exceptions by business domain", ["domain"],
               ([[d], n] for d, n in sorted(depths["exceptions_open"].items()))),
    ]


def _stats(rows: list[dict[str, Any]]) -> Iterator[tuple[list[str], Any]]:
    for r in rows:
        for stat in ("median", "p90", "max"):
            yield [r["entity"], stat], r[f"{stat}_days"]


def kpi_families(k: dict[str, Any]) -> list[Metric]:
    ages = k["exception_aging"]
    return [
        _gauge("syncline_kpi_setup_cycle_days", "Deal closed to project active, days",
               ["entity", "stat"], _stats(k["project_setup_cycle_time"])),
        _gauge("syncline_kpi_time_to_invoice_days", "Time approval to invoice date, days",
               ["entity", "stat"], _stats(k["time_to_invoice_latency"])),
        _gauge("syncline_kpi_unbilled_approved_time", "Approved billable time not invoiced",
               ["entity", "currency"], ([[r["entity"], r["currency"]], r["amount"]]
                                        for r in k["unbilled_approved_time"])),
        _gauge("syncline_kpi_billing_exception_rate", "Billing exceptions per invoice",
               ["entity"], ([[r["entity"]], r["rate"]] for r in k["billing_exception_rate"])),
        _gauge("syncline_kpi_unrecognized_milestones", "Fulfilled milestones not recognized",
               ["entity", "currency"], ([[r["entity"], r["currency"]], r["amount"]]
                                        for r in k["unrecognized_fulfilled_milestones"])),
        _gauge("syncline_kpi_unrecognized_milestones_count",
               "Fulfilled milestones not recognized (count)", ["entity", "currency"],
               ([[r["entity"], r["currency"]], r["count"]]
                for r in k["unrecognized_fulfilled_milestones"])),
        _gauge("syncline_kpi_open_exceptions", "Open exceptions by age bucket (days)",
               ["entity", "domain", "age"], ([[r["entity"], r["domain"], b], r[b]]
                                             for r in ages for b in AGE_BUCKETS)),
        _gauge("syncline_kpi_amendments_awaiting", "Contract amendments not yet propagated",
               ["entity", "why"], ([[r["entity"], why], r[why]]
                                   for r in k["amendments_awaiting_propagation"]
                                   for why in ("undelivered", "not_applied"))),
        _gauge("syncline_kpi_straight_through_share", "Messages applied with no manual step",
               ["entity"], ([[r["entity"]], r["share"]] for r in k["straight_through_share"])),
        _gauge("syncline_kpi_dso_days", "Days sales outstanding", ["entity", "currency"],
               ([[r["entity"], r["currency"]], r["dso"]] for r in k["dso"])),
    ]


class StateCollector(Collector):
    """Reads the database at each collect (one read snapshot)."""

    def __init__(self, engine: Engine, now: datetime) -> None:
        self.engine, self.now = engine, now

    def collect(self) -> Iterator[Metric]:
        month = self.now.strftime("%Y-%m")
        cached = _kpi_cache.get((str(self.engine.url), month))
        fresh = cached is not None and time.monotonic() - cached[0] < KPI_SECONDS
        with self.engine.connect() as conn:
            depths = queue_depths(conn)
            if cached is not None and fresh:
                kpis = cached[1]
            else:
                kpis = compute_kpis(conn, month, now=self.now, ledger_reports=False)
                _kpi_cache[(str(self.engine.url), month)] = (time.monotonic(), kpis)
        yield from state_families(depths)
        yield from kpi_families(kpis)


def exposition(engine: Engine, now: datetime) -> bytes:
    """The text a scrape receives."""
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector(engine, now))
    return generate_latest(PROCESS) + generate_latest(state)
