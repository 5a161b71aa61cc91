"""The rules model: a rule's template lines, a set of rules with the per-entity lookup, what
an event gives its rule, and the error value a rule that cannot post comes back as.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncline.ledger.journal import JournalEntry, Side


@dataclass(frozen=True, slots=True)
class TemplateLine:
    role: str  # chart role, may hold {placeholders}: "revenue:{service_line}"
    side: Side
    amount: str  # key into the amounts given to ``post``
    memo: str = ""  # may hold {placeholders}
    balancing: bool = False  # FX: takes the functional amount that balances the others


@dataclass(frozen=True, slots=True)
class PostingRule:
    event: str  # business event kind, e.g. "billing.invoice_released"
    lines: tuple[TemplateLine, ...]
    description: str = ""  # may hold {placeholders}
    source_type: str = ""  # defaults to the event kind
    entity: str = ""  # "" for every entity; else this legal entity only (it wins there)


@dataclass(frozen=True, slots=True)
class PostingError:
    """A rule that could not produce a balanced entry, located by event, source and role."""

    event: str
    source_id: str
    problem: str  # "no_rule" | "missing_amount" | "unmapped_role" | "missing_param" | …
    message: str
    role: str = ""  # the role concerned, when there is one
    entity_id: str = ""
    source_type: str = ""  # the source type the entry would have had


class PostingFailed(ValueError):
    """Raised by the ``*_entry`` conveniences when a rule cannot post (``error`` says why)."""

    def __init__(self, error: PostingError) -> None:
        self.error = error
        super().__init__(f"{error.event} {error.source_id}: {error.message}")


def entry_or_raise(made: JournalEntry | PostingError) -> JournalEntry:
    if isinstance(made, PostingError):
        raise PostingFailed(made)
    return made


@dataclass(frozen=True, slots=True)
class PostingRules:
    rules: tuple[PostingRule, ...]

    def for_event(self, event: str, entity_id: str = "") -> PostingRule | None:
        """The rule of ``event`` for ``entity_id``: its own rule if it has one, else the
        rule for every entity."""
        general: PostingRule | None = None
        for r in self.rules:
            if r.event != event:
                continue
            if entity_id and r.entity == entity_id:
                return r
            if not r.entity and general is None:
                general = r
        return general

    def rule(self, event: str, entity_id: str = "") -> PostingRule:
        """The rule of a system event (always present: configuration only replaces)."""
        found = self.for_event(event, entity_id)
        if found is None:
            raise KeyError(f"no posting rule for event {event!r}")
        return found


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What an event gives its rule: amount keys, params, and what posts it."""

    event: str
    source_type: str  # of its entries: fixed, the ledger reads them back by it
    amounts: tuple[str, ...]
    params: tuple[str, ...]
    posted_by: str
    signed: bool = False  # amounts may be negative (post on the opposite side)
