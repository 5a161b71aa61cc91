"""The process's Prometheus instruments, in their own registry (``PROCESS``) so tests and
several apps in one process do not collide with prometheus_client's global one.

- ``syncline_apply_batch_seconds``: wall time of one batch applied by the processor;
- ``syncline_apply_lag_seconds{type}``: from a message's receipt to its application (the
  processor's clock), for each message applied;
- ``syncline_messages_processed_total{type,outcome}``: applied | stale | parked | failed;
- ``syncline_delivery_attempts_total{target,result}``: every send of an outbox row to its
  target: delivered | refused | error (an error is retried by the delivery workflow);
- ``syncline_delivery_retries_total{target}``: sends of a row that had been tried before.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

PROCESS = CollectorRegistry(auto_describe=True)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                   300.0, 3600.0)

apply_batch_seconds = Histogram(
    "syncline_apply_batch_seconds", "Wall time of one batch applied by the processor",
    buckets=LATENCY_BUCKETS, registry=PROCESS)
apply_lag_seconds = Histogram(
    "syncline_apply_lag_seconds", "Seconds from a message's receipt to its application",
    ["type"], buckets=LATENCY_BUCKETS, registry=PROCESS)
messages_processed = Counter(
    "syncline_messages_processed", "Messages the processor settled, by type and outcome",
    ["type", "outcome"], registry=PROCESS)
delivery_attempts = Counter(
    "syncline_delivery_attempts", "Sends of outbox rows to their target, by result",
    ["target", "result"], registry=PROCESS)
delivery_retries = Counter(
    "syncline_delivery_retries", "Sends of an outbox row that had been tried before",
    ["target"], registry=PROCESS)
