"""The simulator's public values: its configuration, its fault manifest and its result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

Event = dict[str, Any]
StreamItem = Event | str  # a str is a raw line that is not JSON (a `malformed_json` fault)

FAULT_KINDS: tuple[str, ...] = (
    "missing_legal_entity",
    "missing_tax_profile",
    "unknown_currency",
    "unapproved_time",
    "unknown_project",
    "terminated_worker_time",
    "malformed_payload",
    "malformed_json",
    "expense_without_fx_rate",
    "time_on_closed_project",
)


@dataclass(frozen=True)
class SimulationConfig:
    seed: int = 7
    customers: int = 12
    workers: int = 30
    months: int = 6
    start: date = date(2026, 1, 1)
    delivery_faults: bool = False
    data_faults: bool = False
    staffing: bool = False  # resource requests and assignments (simulator/staffing.py)

    def __post_init__(self) -> None:
        if self.customers < 0 or self.workers < 0:
            raise ValueError("customers and workers must not be negative")
        if not 1 <= self.months <= 36:
            raise ValueError("months must be between 1 and 36")


@dataclass(frozen=True)
class InjectedFault:
    """One bad record added on purpose, and what the platform is expected to do with it."""

    kind: str  # one of FAULT_KINDS
    event_id: str | None  # None for a line that is not JSON
    subject: str | None
    domain: str  # "finance", "pmo", "hr", "it" or "billing"
    outcome: str  # "exception", "parked_then_exception" or "rejected"
    note: str


@dataclass(frozen=True)
class Simulation:
    config: SimulationConfig
    events: tuple[StreamItem, ...]
    faults: tuple[InjectedFault, ...]

    def to_jsonl(self) -> str:
        """One item per line, in stream order; raw (non-JSON) items are written as they are."""
        lines = (
            item if isinstance(item, str)
            else json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            for item in self.events
        )
        return "".join(f"{line}\n" for line in lines)

    def clean_events(self) -> tuple[Event, ...]:
        """The JSON events that are not injected faults, first delivery of each, in stream order.

        With `delivery_faults` this drops the re-sent copies; with `data_faults` it drops the
        bad records named in `faults`.
        """
        faulty = {f.event_id for f in self.faults if f.event_id is not None}
        seen: set[tuple[str, str]] = set()
        out: list[Event] = []
        for item in self.events:
            if isinstance(item, str) or item.get("id") in faulty:
                continue
            key = (str(item.get("source")), str(item.get("id")))
            if key not in seen:
                seen.add(key)
                out.append(item)
        return tuple(out)
