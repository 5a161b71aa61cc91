"""Delivery faults: the same events, delivered the way real webhooks and queues deliver them.

Applied in this order to the clean (time-ordered) stream, with their own RNG:
1. local reordering: shuffles inside small sliding windows;
2. forced inversions, so every run has the orderings a processor must survive: a deal delivered
   after the first time booked to its project, a worker's first record after their first time,
   a time rejection before its approval, a worker's raise (sequence 2) before sequence 1;
3. late arrivals: about 2 % of the items moved to the end of the stream;
4. duplicates: about 5 % of the items re-sent (an exact copy) a little or a lot later.
No item's content changes.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

from syncline.simulator.model import Event, StreamItem

_WINDOW = 8


def deliver(items: list[StreamItem], rng: random.Random) -> list[StreamItem]:
    out = list(items)
    _shuffle_windows(out, rng)
    pinned = _force_inversions(out, rng)
    out = _late_arrivals(out, rng, pinned)
    return _duplicates(out, rng)


def _shuffle_windows(items: list[StreamItem], rng: random.Random) -> None:
    for offset in (0, _WINDOW // 2):
        for lo in range(offset, len(items), _WINDOW):
            if rng.random() < 0.3:
                window = items[lo:lo + _WINDOW]
                rng.shuffle(window)
                items[lo:lo + _WINDOW] = window


def _events(items: list[StreamItem]) -> list[Event]:
    return [i for i in items if isinstance(i, dict)]


def _index(items: list[StreamItem], target: Event) -> int:
    return next(i for i, x in enumerate(items) if x is target)


def _move_after(items: list[StreamItem], moving: Event, anchor: Event) -> None:
    items.pop(_index(items, moving))
    items.insert(_index(items, anchor) + 1, moving)


def _move_before(items: list[StreamItem], moving: Event, anchor: Event) -> None:
    items.pop(_index(items, moving))
    items.insert(_index(items, anchor), moving)


def _first(events: list[Event], match: Callable[[Event], bool]) -> Event | None:
    return next((e for e in events if match(e)), None)


def _some(rng: random.Random, candidates: list[Event]) -> list[Event]:
    """A few of `candidates`: one in fifteen, at least one when there are any."""
    if not candidates:
        return []
    return rng.sample(candidates, max(1, len(candidates) // 15))


def _force_inversions(items: list[StreamItem], rng: random.Random) -> list[Event]:
    """Make sure each ordering hazard happens at least once; return the events involved."""
    pinned: list[Event] = []
    events = _events(items)
    times = [e for e in events if e["type"] == "time.approved"]
    first_time_by_deal: dict[str, Event] = {}
    first_time_by_worker: dict[str, Event] = {}
    for e in times:
        first_time_by_deal.setdefault(e["correlationid"], e)
        first_time_by_worker.setdefault(e["data"].get("worker_id", ""), e)

    deals = [e for e in events if e["type"] == "deal.closed_won"
             and e["data"]["deal_id"] in first_time_by_deal]
    for deal in _some(rng, deals):
        time = first_time_by_deal[deal["data"]["deal_id"]]
        _move_after(items, deal, time)
        pinned += [deal, time]

    workers = [e for e in events if e["type"] == "worker.upserted" and e["sequence"] == 1
               and e["data"]["worker_id"] in first_time_by_worker]
    for worker in _some(rng, workers):
        time = first_time_by_worker[worker["data"]["worker_id"]]
        _move_after(items, worker, time)
        pinned += [worker, time]

    approved = {e["subject"]: e for e in times}
    rejected = [e for e in events if e["type"] == "time.rejected" and e["subject"] in approved]
    for rejection in _some(rng, rejected):
        _move_before(items, rejection, approved[rejection["subject"]])
        pinned += [rejection, approved[rejection["subject"]]]

    firsts = {e["subject"]: e for e in events
              if e["type"] == "worker.upserted" and e["sequence"] == 1}
    raises = [e for e in events if e["type"] == "worker.upserted" and e["sequence"] == 2
              and e["subject"] in firsts and not any(e2 is firsts[e["subject"]] for e2 in pinned)]
    for change in _some(rng, raises):
        _move_before(items, change, firsts[change["subject"]])
        pinned += [change, firsts[change["subject"]]]
    return pinned


def _late_arrivals(items: list[StreamItem], rng: random.Random,
                   pinned: list[Event]) -> list[StreamItem]:
    keep = {id(e) for e in pinned}
    on_time: list[StreamItem] = []
    late: list[StreamItem] = []
    for item in items:
        (late if rng.random() < 0.02 and id(item) not in keep else on_time).append(item)
    return on_time + late


def _duplicates(items: list[StreamItem], rng: random.Random) -> list[StreamItem]:
    copies: dict[int, list[StreamItem]] = {}
    for i, item in enumerate(items):
        if rng.random() < 0.05:
            after = min(len(items) - 1, i + rng.choice((1, 2, 5, 20, 100, 500)))
            copies.setdefault(after, []).append(copy.deepcopy(item))
    out: list[StreamItem] = []
    for i, item in enumerate(items):
        out.append(item)
        out.extend(copies.get(i, ()))
    return out
