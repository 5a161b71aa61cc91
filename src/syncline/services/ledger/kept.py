"""Derived rows kept by a process under a random token (docs/adr/0018-kept-by-token.md).

Two derived tables hold facts that never change while their row exists: a month's carried
books (``ledger_carries`` → ``ledger_carried_balances``: nothing posts into a locked month,
and triggers delete an entity's carries from the month of any journal row written on or
before them, migration 0022) and a month's labor cost cells (``labor_cost_cached`` →
``labor_cost_cells``: stored with the month's version and recomputed, as a new row, when the
version moves, ADR 0010). Migration 0026 gives each such row a random ``token`` when it is
stored. The facts stored under a token are the same for as long as that token is in its
table: a carry or a month made again gets a new token, and one stored by a transaction that
rolled back (or a database restored or recreated at the same address) leaves a token that
never comes back.

So a process keeps what it stored or read under (database address, kind, key, token), and
the close's readers — the reconciliation, the FX revaluation, the labor cost true-up, the
close's own carry of the next month and its recorded reports, each in its own transaction —
take them from here instead of reading and decoding rows that grow with the history (every
open document's carried balance; every month's cost cells). Bounded per kind (`KEEP`, least
recently used out); returned as shared read-only values: callers must not change them.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import Connection

KEEP = {"carry": 12, "labor_cells": 48}
_kept: dict[str, OrderedDict[tuple[str, Hashable, str], Any]] = {k: OrderedDict() for k in KEEP}
_lock = threading.Lock()


def new_token() -> str:
    """A stored row's token: random, so it never names two versions of a fact."""
    return secrets.token_hex(16)


def kept(conn: Connection, kind: str, key: Hashable, token: str | None) -> Any | None:
    """What this process stored or read under ``token`` for ``key``; None when it has not
    (or the row has no token: stored before migration 0026)."""
    if token is None:
        return None
    where = (str(conn.engine.url), key, token)
    with _lock:
        found = _kept[kind].get(where)
        if found is not None:
            _kept[kind].move_to_end(where)
        return found


def keep(conn: Connection, kind: str, key: Hashable, token: str | None, value: Any) -> None:
    if token is None:
        return
    where = (str(conn.engine.url), key, token)
    with _lock:
        box = _kept[kind]
        box[where] = value
        box.move_to_end(where)
        while len(box) > KEEP[kind]:
            box.popitem(last=False)


def forget() -> None:
    """Drop everything kept (tests)."""
    with _lock:
        for box in _kept.values():
            box.clear()
