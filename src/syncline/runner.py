"""Background work of a running Syncline: apply what was received, deliver the outbox.

`serve` starts one `BackgroundWorker` beside the API (the API only stores and answers);
`syncline worker` runs the same loop as a process of its own. The loop applies every pending
message (`system.process_leased`: on PostgreSQL beside other workers, each batch under a lease,
see services/messaging/leases.py; on SQLite one process applies), delivers pending outbox rows
(`system.deliver`), sweeps parked messages once a minute, then sleeps until woken by a receive
or for `idle_seconds`. A failure in one round is logged and the next round goes on: nothing is
lost, since every message stays in the inbox until it is applied. `request_stop` (a signal
handler's call) ends the loop after the batch under way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from syncline.bootstrap import Syncline
from syncline.services.messaging.delivery import pending
from syncline.services.messaging.outcomes import Stats

log = logging.getLogger("syncline.worker")


@dataclass
class BackgroundWorker:
    system: Syncline
    deliver: bool = True
    idle_seconds: float = 0.5
    lease_seconds: int = 60
    sweep_seconds: float = 60.0
    poll_seconds: float = 60.0  # how often scheduled connector polls are looked at
    rounds: int = 0
    errors: int = 0
    totals: Stats = field(default_factory=Stats)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _last_sweep: float = 0.0
    _last_poll: float = 0.0
    # called after each applied batch commits: `serve` lets the API's receive writer take
    # SQLite's write lock before the next batch (api/intake.py, Intake.let_through)
    between_batches: Callable[[], None] | None = None
    # asked during a batch: is a request waiting for the write lock? (`serve`: the API's
    # receive writer has requests not yet stored) — then the batch commits early
    yield_when: Callable[[], bool] | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="syncline-worker",
                                            daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        """Stop after the batch under way (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.round()
            self._wake.wait(self.idle_seconds)

    def round(self) -> None:
        """One pass: apply, deliver, sweep when due. Never raises."""
        try:
            turn = self.between_batches
            self._count(self.system.process_leased(
                None if turn is None else (lambda _n: turn()),
                lease_seconds=self.lease_seconds, stop=self._stop.is_set,
                yield_when=self.yield_when))
            if self.deliver and pending(self.system.engine):
                self.system.deliver()
            now = time.monotonic()
            if now - self._last_sweep >= self.sweep_seconds:
                self.system.sweep()
                self._last_sweep = now
            if self.system.settings.connectors_config and \
                    now - self._last_poll >= self.poll_seconds:
                self._last_poll = now
                self.poll_connectors()
        except Exception:  # a defect in one round must not stop the worker
            self.errors += 1
            log.exception("background round failed; the next round retries")
        finally:
            self.rounds += 1

    def poll_connectors(self) -> list[str]:
        """Start the durable poll of every connector whose slot is due
        (workflows/connectors.py); returns the workflow ids started or joined."""
        from syncline.connectors.registry import configured
        from syncline.workflows import connectors as polls
        from syncline.workflows import delivery as wf

        system = self.system
        configs = configured(system.settings.connectors_config or "")
        polls.wire(system.engine, system.connectors, system.clock)
        wf.launch(system.engine, system.targets, system.settings.workflow_db_url(),
                  system.clock, app_version=system.settings.workflow_version())
        return polls.poll_due(configs, system.clock())

    def drain(self) -> Stats:
        """Apply until nothing is left (waiting for other workers' leases), then deliver and
        sweep once: `syncline worker --once`. Raises what a round would log."""
        stats = self.system.process_leased(lease_seconds=self.lease_seconds, patience=None,
                                           stop=self._stop.is_set)
        self._count(stats)
        if not self._stop.is_set():
            if self.deliver and pending(self.system.engine):
                self.system.deliver()
            self.system.sweep()
        return stats

    def _count(self, stats: Stats) -> None:
        self.totals.add(stats)
