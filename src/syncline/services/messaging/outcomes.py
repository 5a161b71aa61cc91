"""What applying one inbox message came to."""

from __future__ import annotations

from dataclasses import dataclass, field

from syncline.domain.errors import Missing, Problem


@dataclass(frozen=True, slots=True)
class Applied:
    provides: tuple[str, ...] = ()  # prerequisite keys now satisfied ("project:P-1")
    note: str = ""


@dataclass(frozen=True, slots=True)
class Stale:
    note: str


@dataclass(frozen=True, slots=True)
class Failed:
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Parked:
    missing: Missing


Outcome = Applied | Stale | Failed | Parked


@dataclass
class Stats:
    applied: int = 0
    parked: int = 0
    released: int = 0
    failed: int = 0
    stale: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def add(self, other: Stats) -> None:
        """Count `other`'s messages too."""
        self.applied += other.applied
        self.parked += other.parked
        self.released += other.released
        self.failed += other.failed
        self.stale += other.stale
        for kind, n in other.by_type.items():
            self.by_type[kind] = self.by_type.get(kind, 0) + n
