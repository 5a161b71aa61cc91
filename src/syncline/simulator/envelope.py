"""CloudEvents envelopes with deterministic ids, and the calendar arithmetic the plans share."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from syncline.simulator.model import Event, SimulationConfig, StreamItem

CRM = "crm/salesforce"
HRIS = "hris/workday"
PSA = "psa/kantata"
ERP = "erp/netsuite"

_NAMESPACE = uuid.UUID("5b0f5d0e-2a4b-4c8e-9d7e-53796e636c69")
_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Stamped:
    """A stream item with the instant it was emitted and a stable tie-break key."""

    at: datetime
    key: tuple[str, str, int]  # (source, subject, sequence)
    item: StreamItem

    def order(self) -> tuple[datetime, tuple[str, str, int]]:
        return (self.at, self.key)


def run_key(config: SimulationConfig) -> str:
    """What makes one run's ids its own (fault flags excluded: the same business events)."""
    return f"{config.seed}|{config.customers}|{config.workers}|{config.months}|{config.start}"


def event_id(run: str, source: str, subject: str, sequence: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{run}|{source}|{subject}|{sequence}"))


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(run: str, *, source: str, etype: str, subject: str, sequence: int,
             at: datetime, correlation: str, data: dict[str, Any]) -> Stamped:
    event: Event = {
        "specversion": "1.0",
        "id": event_id(run, source, subject, sequence),
        "source": source,
        "type": etype,
        "subject": subject,
        "time": rfc3339(at),
        "datacontenttype": "application/json",
        "correlationid": correlation,
        "sequence": sequence,
        "data": data,
    }
    return Stamped(at, (source, subject, sequence), event)


def amount(value: Decimal) -> str:
    """A decimal written as a string with two places (never a float)."""
    return str(value.quantize(_CENTS))


def at_hour(day: date, rng: random.Random, first_hour: int, last_hour: int) -> datetime:
    """An instant on `day` between `first_hour`:00 and `last_hour`:59:59 UTC."""
    seconds = rng.randint(first_hour * 3600, last_hour * 3600 + 3599)
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(seconds=seconds)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def window_end(config: SimulationConfig) -> date:
    """The first day after the simulated period."""
    return add_months(config.start, config.months)
