"""What the KPI dashboard keeps between requests (ADR 0015): each month's ``compute_kpis``
figures and the ledger reports' cells of a range, for as long as nothing new is committed to
the database.

Everything kept is keyed on the database's change token (adapters/db/changes.py), read once
per view before anything is computed: any write committed since — a message received or
applied, an exception resolved, a delivery, a billing run, by any process — drops all of
it. Not "a locked month is kept for good": almost every KPI of a past month still moves after
its lock (unbilled time and milestones at its end take late facts dated in it, the entity of
an exception follows a project provisioned later, a message parked at its end is applied
later, a written-off item leaves every month's figure), so only the absence of any write
proves a month's figures unchanged.

A month not over at ``now`` (the current one) is computed every time: its figures are as of
now (the age of an open exception grows with the clock alone). Kept values are shared: a
caller reads them and never changes them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from syncline.adapters.db.changes import ChangeToken

T = TypeVar("T")
MOST = 512  # entries kept (a month of one entity is one): 24 months × 21 entity choices


class KpiCache:
    """Values kept under the change token they were computed at (see the module doc)."""

    def __init__(self, token: Callable[[Connection], str | None], most: int = MOST) -> None:
        self._token = token
        self._most = most
        self._lock = threading.Lock()
        self._version: str | None = None
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()

    @classmethod
    def of(cls, engine: Engine) -> KpiCache:
        """A cache keyed on ``engine``'s database's change token."""
        return cls(ChangeToken(engine))

    def view(self, conn: Connection) -> View:
        """The database as it is now: what is kept for it, and a place to keep more."""
        return View(self, self._token(conn))

    def _get(self, version: str, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if version != self._version:
                self._kept.clear()
                self._version = version
                return False, None
            if key not in self._kept:
                return False, None
            self._kept.move_to_end(key)
            return True, self._kept[key]

    def _put(self, version: str, key: Hashable, value: Any) -> None:
        with self._lock:
            if version != self._version:
                return  # a newer view has begun meanwhile: this value may be older than it
            self._kept[key] = value
            while len(self._kept) > self._most:
                self._kept.popitem(last=False)


@dataclass(frozen=True, slots=True)
class View:
    """One view's access to the cache, at the token read when it began (``None``: the
    database cannot tell its changes — an SQLite database in memory — so nothing is kept)."""

    cache: KpiCache | None
    version: str | None

    def get(self, key: Hashable, make: Callable[[], T], *, keep: bool = True) -> T:
        """The value kept under ``key`` at this view's token, else ``make()`` (kept when
        ``keep``)."""
        if self.cache is None or self.version is None or not keep:
            return make()
        found, value = self.cache._get(self.version, key)
        if found:
            return value  # type: ignore[no-any-return]
        value = make()
        self.cache._put(self.version, key, value)
        return value


NOTHING_KEPT = View(None, None)
