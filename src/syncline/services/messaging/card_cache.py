"""The published rate cards, kept by a process from one batch to the next.

Every unit of work that prices time needs every published card version (`load_cards`: two
queries and a `RateCard` built per version). Read per batch, that was most of the cost of a
batch of one message — what an API's steady trickle of events applies. Here a process keeps
the cards it read with the generation of ``change_generations`` it read *first*, in the
same transaction (migration 0025: triggers set a new random generation in the transaction of
every write to ``rate_cards`` or ``rate_card_entries``), and uses them while the generation
is the same:

- another process's (or SQL by hand's) committed write changes the generation: read again;
- this transaction's own write changes it in this transaction: read again, and what is kept
  then is valid only if the transaction commits — rolled back, its random generation never
  comes back;
- on PostgreSQL a write committed between reading the generation and the cards can only make
  the kept cards newer than their generation says: the next batch reads again.

Kept per database address, at most `KEEP` of them (a test run opens hundreds); the cards
are returned read-only, shared by every batch of the process.
"""

from __future__ import annotations

import threading
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection

from syncline.adapters.db.billing_tables import change_generations

KEEP = 16
_GENERATION = (f"SELECT generation FROM {change_generations.name} "
               "WHERE name = 'rate_cards'")
_kept: dict[str, tuple[int, Any]] = {}
_lock = threading.Lock()


def cards(conn: Connection, load: Any) -> Any:
    """Every published card version by (scope, key) — `load(conn)` (`unit_of_work.load_cards`)
    unless this process has read them at the current generation."""
    generation = conn.exec_driver_sql(_GENERATION).scalar()
    if generation is None:  # no generation row (removed by hand): read every time
        return MappingProxyType(load(conn))
    where = str(conn.engine.url)
    with _lock:
        kept = _kept.get(where)
    if kept is not None and kept[0] == generation:
        return kept[1]
    found = MappingProxyType(load(conn))
    with _lock:
        _kept.pop(where, None)
        _kept[where] = (generation, found)
        while len(_kept) > KEEP:
            del _kept[next(iter(_kept))]
    return found
