"""Business problems: bad data as values an operator can locate and fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BusinessDomain(StrEnum):
    FINANCE = "finance"
    PMO = "pmo"
    HR = "hr"
    IT = "it"
    BILLING = "billing"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a message cannot be applied, and what a person should do about it."""

    code: str  # stable machine code, e.g. "deal.missing_legal_entity"
    domain: BusinessDomain
    message: str  # what is wrong, naming the field
    remediation: str  # plain words: who fixes what, where
    field: str | None = None
    severity: Severity = Severity.HIGH
    objects: tuple[tuple[str, str], ...] = ()  # (kind, external or syncline id)


@dataclass(frozen=True, slots=True)
class Missing:
    """A prerequisite not yet known: the message is parked until it arrives."""

    key: str  # e.g. "project:P-1001", "worker:W-0007", "time:TE-1"
    reason: str
