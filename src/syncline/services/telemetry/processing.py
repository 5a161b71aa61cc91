"""What the processor tells operations about each message it settles: a counter by type and
outcome, the receipt-to-apply lag of an applied one, and one JSON log line with its ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncline.services.telemetry import logs, metrics

PRINCIPAL = "system:processor"  # who applies: the message's sender is its ``source``


def observe(row: Any, outcome: str, now: datetime) -> None:
    """Count the outcome (and, for an applied message, the lag from its receipt); log it as
    one JSON line with the message's ids bound (services/telemetry/logs.py)."""
    metrics.messages_processed.labels(row.type, outcome).inc()
    if logs.enabled():
        with logs.bound(correlation_id=row.correlation_id, inbox_id=row.id,
                        event_id=getattr(row, "event_id", None), principal=PRINCIPAL):
            logs.log(f"message.{outcome}", type=row.type, subject=row.subject,
                     source=getattr(row, "source", None))
    received_at = getattr(row, "received_at", None)
    if outcome == "applied" and received_at:
        received = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
        metrics.apply_lag_seconds.labels(row.type).observe(
            max(0.0, (now - received).total_seconds()))
