"""Gapless invoice numbering per legal entity: ``US01-2026-000001``.

Pure: given the last number issued per entity (and series) and the drafts to number, it
assigns the next numbers in a deterministic order — entity, issue date, sort key (the
contract number), draft id — so the same drafts always get the same numbers. The sequence
restarts at 1 in a new calendar year. A draft dated in an earlier year than the entity's
last number cannot be numbered without a gap or a duplicate: it is refused.

Credit notes use their own series (``series="CN"`` → ``US01-CN-2026-000001``). The caller
stores the last number in the same transaction as the invoices (numbers are never reused).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

_NUMBER = re.compile(
    r"^(?P<entity>[A-Z0-9]+)-(?:(?P<series>[A-Z]+)-)?(?P<year>\d{4})-(?P<seq>\d{6,})$")


@dataclass(frozen=True, slots=True)
class DraftRef:
    draft_id: str
    entity_code: str
    issue_date: date
    sort_key: str = ""  # contract number, for a readable order


@dataclass(frozen=True, slots=True)
class Numbering:
    assigned: tuple[tuple[str, str], ...]  # (draft id, number)
    refused: tuple[tuple[str, str], ...]  # (draft id, reason)
    last: tuple[tuple[str, str], ...]  # (entity, last number issued), for the caller to store

    def number_of(self, draft_id: str) -> str | None:
        return next((n for d, n in self.assigned if d == draft_id), None)


def format_number(entity_code: str, year: int, seq: int, series: str = "") -> str:
    middle = f"{series}-" if series else ""
    return f"{entity_code}-{middle}{year}-{seq:06d}"


def parse_number(number: str) -> tuple[str, str, int, int] | None:
    """(entity, series, year, sequence) of a number this module formats, else None."""
    m = _NUMBER.match(number)
    if m is None:
        return None
    return m["entity"], m["series"] or "", int(m["year"]), int(m["seq"])


def assign_numbers(drafts: Iterable[DraftRef], last: Mapping[str, str | None], *,
                   series: str = "") -> Numbering:
    state: dict[str, tuple[int, int]] = {}  # entity -> (year, seq)
    for entity, number in last.items():
        parsed = parse_number(number) if number else None
        if parsed is not None:
            state[entity] = (parsed[2], parsed[3])
    assigned: list[tuple[str, str]] = []
    refused: list[tuple[str, str]] = []
    for d in sorted(drafts, key=lambda d: (d.entity_code, d.issue_date, d.sort_key, d.draft_id)):
        year, seq = state.get(d.entity_code, (d.issue_date.year, 0))
        if d.issue_date.year < year:
            refused.append((d.draft_id, f"dated {d.issue_date}, before {d.entity_code}'s last "
                                        f"number in {year}: re-date the draft"))
            continue
        seq = seq + 1 if d.issue_date.year == year else 1
        state[d.entity_code] = (d.issue_date.year, seq)
        assigned.append((d.draft_id, format_number(d.entity_code, d.issue_date.year, seq,
                                                   series)))
    return Numbering(
        tuple(assigned), tuple(refused),
        tuple((e, format_number(e, y, s, series)) for e, (y, s) in sorted(state.items()) if s),
    )
