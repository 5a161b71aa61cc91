"""The types applied as sets, and the types a run of approved time may take along.

High-volume types go as a set (docs/architecture.md, "Set-based apply"): type -> (the core
handler the set path mirrors, its set function; None: that handler message by message inside
the set's one savepoint, with the bookkeeping of the set). Only while `HANDLERS` holds that
core handler: an engine that overrides it gets the per-message path. None of them parks on
what another of its type provides. A type sequenced per subject (`SEQUENCED_STATE`) goes
message by message (no set function): each is checked for staleness and marks its subject as
the single path does, in order, so a set of them decides what one at a time decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from syncline.services.handlers import (
    HANDLERS,
    SEQUENCED_STATE,
    record_time,
    record_time_set,
)
from syncline.services.handlers.expenses import (
    record_expense,
    record_expense_set,
    reverse_expense,
)
from syncline.services.handlers.milestones import complete_milestone
from syncline.services.handlers.time import reverse_time
from syncline.services.handlers.time_rejections import reverse_time_set
from syncline.services.handlers.workers import upsert_worker
from syncline.services.messaging.outcomes import Outcome
from syncline.services.messaging.unit_of_work import Batch, Handler

SetHandler = Callable[[Batch, list[tuple[str, Mapping[str, Any]]]], list[Outcome]]

SET_HANDLERS: dict[str, tuple[Handler, SetHandler | None]] = {
    "time.approved": (record_time, record_time_set),
    "expense.approved": (record_expense, record_expense_set),
    "time.rejected": (reverse_time, reverse_time_set),
    "expense.rejected": (reverse_expense, None),
    "milestone.completed": (complete_milestone, None),
    "worker.upserted": (upsert_worker, None),  # an HR sync sends its workers in a burst
}
assert all(apply is None for kind, (_, apply) in SET_HANDLERS.items()
           if kind in SEQUENCED_STATE)


# Types that commute with approved time (neither reads what the other writes): a run of time
# may include them; the time set is applied first, then these in their order.
COMMUTING = {"expense.approved", "expense.rejected"}


def settable(kind: str) -> bool:
    """Whether messages of `kind` go as a set (read from the table each time: tests and an
    engine may replace it)."""
    entry = SET_HANDLERS.get(kind)
    return entry is not None and HANDLERS.get(kind) is entry[0]
