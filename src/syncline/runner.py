"""Background work of a running Syncline: apply what was received, deliver the outbox.

`serve` starts one `BackgroundWorker` beside the API (the API only stores and answers);
`syncline worker` runs the same loop as a process of its own. The loop applies every pending
message (`system.process`), delivers pending outbox rows (`system.deliver`), sweeps parked
messages once a minute, then sleeps until woken by a receive or for `idle_seconds`. A failure
in one round is logged and the next round goes on: nothing is lost, since every message stays
in the inbox until it is applied.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from syncline.bootstrap import Syncline
from syncline.services.messaging.delivery import pending

log = logging.getLogger("syncline.worker")


@dataclass
class BackgroundWorker:
    system: Syncline
    deliver: bool = True
    idle_seconds: float = 0.5
    sweep_seconds: float = 60.0
    rounds: int = 0
    errors: int = 0
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _last_sweep: float = 0.0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="syncline-worker",
                                            daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
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
            self.system.process()
            if self.deliver and pending(self.system.engine):
                self.system.deliver()
            now = time.monotonic()
            if now - self._last_sweep >= self.sweep_seconds:
                self.system.sweep()
                self._last_sweep = now
        except Exception:  # a defect in one round must not stop the worker
            self.errors += 1
            log.exception("background round failed; the next round retries")
        finally:
            self.rounds += 1
